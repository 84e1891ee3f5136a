/**
 * A partitioned endpoint served by 3 worker processes on RabbitMQ + FerretDB (its own vhost and
 * database): the processes share the 6 partitions 2 each; after one is SIGKILLed the other two take
 * its partitions over once their leases expired, and every message is handled exactly once, in
 * publish order per key.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { MongoClient } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import { Endpoint, RabbitMqTransport, silentLogger } from '../../../src/index.js';
import { MongoSagaStore } from '../../../src/persistence/mongodb/index.js';
import { ChaosBroker } from '../../chaos/cluster.js';
import { eventually as until } from '../../conformance/transport.js';
import { PART_SAGA, PartBump, type PartTallyState } from './partition-scenario.js';

const mongoUrl = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';
const PARTITIONS = 6;
const LEASE_MS = 2000;

interface Worker {
  readonly child: ChildProcess;
  /** The partitions it said it consumes, latest first. */
  owns: number[];
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

function startWorker(name: string, env: Record<string, string>): Promise<Worker> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/integration/processes/partition-worker.ts'],
    {
      env: { ...process.env, ...env, LH_WORKER: name },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  cleanups.push(async () => void child.kill('SIGKILL'));
  const worker: Worker = { child, owns: [] };
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line === 'ready') resolve(worker);
      else if (line.startsWith('owns ')) worker.owns = JSON.parse(line.slice(5)) as number[];
    });
    child.once('exit', (code) => reject(new Error(`worker ${name} exited with ${code} before it was ready`)));
  });
}

describe('a partitioned endpoint on 3 worker processes', () => {
  it('shares 6 partitions 2 each, takes a killed worker’s over after the lease, handles each message once in key order', async () => {
    const tag = randomUUID().slice(0, 8);
    const broker = new ChaosBroker(`lh-mpp-${tag}`, process.env.RABBITMQ_URL);
    const database = `lh_mpp_${tag}`;
    await broker.create();
    cleanups.push(() => broker.delete());
    cleanups.push(async () => {
      const client = new MongoClient(mongoUrl);
      await client.db(database).dropDatabase();
      await client.close();
    });
    const env = {
      LH_RABBITMQ_URL: broker.url,
      LH_MONGODB_URL: mongoUrl,
      LH_DATABASE: database,
      LH_PREFIX: 'mpp.',
      LH_ENDPOINT: 'parts',
      LH_PARTITIONS: String(PARTITIONS),
      LH_LEASE: `${LEASE_MS}ms`,
    };
    const workers = await Promise.all(['w1', 'w2', 'w3'].map((name) => startWorker(name, env)));
    const allOwned = (list: Worker[]): number[] => list.flatMap((w) => w.owns).sort((a, b) => a - b);
    await until(() => workers.every((w) => w.owns.length === 2), 20_000, 'each worker to own 2 partitions');
    expect(allOwned(workers)).toEqual([0, 1, 2, 3, 4, 5]);

    const store = new MongoSagaStore({ url: mongoUrl, database, logger: silentLogger });
    const driver = new Endpoint({
      name: 'parts-driver',
      transport: new RabbitMqTransport({ url: broker.url, prefix: 'mpp.', logger: silentLogger }),
      logger: silentLogger,
    });
    await driver.start();
    cleanups.push(async () => {
      await driver.stop();
      await driver.transport.close();
      await store.close();
    });
    const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`);
    const perKey = 30;
    const publish = async (from: number, to: number): Promise<void> => {
      for (let seq = from; seq <= to; seq++) {
        await Promise.all(keys.map((key) => driver.bus.publish(new PartBump(key, seq))));
      }
    };
    await publish(1, 10);
    const [victim, ...survivors] = workers as [Worker, ...Worker[]];
    const orphaned = victim.owns;
    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    await publish(11, perKey);
    await until(() => survivors.every((w) => w.owns.length === 3), 20_000, 'the survivors to own 3 each');
    // Taken over only once the victim's leases expired (renewed at most a third of a lease before).
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual((LEASE_MS * 2) / 3 - 100);
    expect(allOwned(survivors)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(orphaned.every((p) => survivors.some((w) => w.owns.includes(p)))).toBe(true);

    await store.init();
    const seqsOf = async (key: string): Promise<number[]> =>
      ((await store.findByCorrelation(PART_SAGA, key))?.state as PartTallyState | undefined)?.seqs ?? [];
    const expected = Array.from({ length: perKey }, (_, i) => i + 1);
    await until(
      async () => (await Promise.all(keys.map(seqsOf))).every((seqs) => seqs.length >= perKey),
      40_000,
      'every key to count its messages',
    );
    for (const key of keys) expect(await seqsOf(key), key).toEqual(expected);
  }, 90_000);
});
