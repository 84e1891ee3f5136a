/**
 * A workflow instance across deploys, with worker processes on RabbitMQ + FerretDB: a v1 worker
 * runs it to a timer and is killed; a v2 worker (changed code) parks it, keeping the timer and a
 * signal sent meanwhile; a v1 worker again resumes it by itself and completes it, without running
 * the first activity again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { Endpoint, RabbitMqTransport, silentLogger } from '../../../src/index.js';
import { MongoSagaStore } from '../../../src/persistence/mongodb/index.js';
import { eventually as until } from '../../conformance/transport.js';
import { MpGo, Versioned } from './scenario.js';

const rabbitUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const mongoUrl = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';
const tag = randomUUID().slice(0, 8);
const prefix = `mpv-${tag}.`;
const database = `lh_mpv_${tag}`;
const workers: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

async function startWorker(name: string, code: 'v1' | 'v2'): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/integration/processes/worker.ts'], {
    env: {
      ...process.env,
      LH_RABBITMQ_URL: rabbitUrl,
      LH_MONGODB_URL: mongoUrl,
      LH_DATABASE: database,
      LH_PREFIX: prefix,
      LH_ENDPOINT: 'workers',
      LH_WORKER: name,
      LH_CODE: code,
      LH_RECHECK: '1s',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  workers.push(child);
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => line === 'ready' && resolve());
    child.once('exit', (code) => reject(new Error(`worker ${name} exited with ${code} before it was ready`)));
  });
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

afterAll(async () => {
  for (const worker of workers) await kill(worker);
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('a workflow instance across deploys, with worker processes', () => {
  it('v1 runs it to a timer and dies; v2 parks it and keeps a signal; v1 again resumes and completes it, the first activity not run again', async () => {
    const transport = new RabbitMqTransport({ url: rabbitUrl, prefix });
    const store = new MongoSagaStore({ url: mongoUrl, database });
    const endpoint = new Endpoint({ name: 'observer', transport, sagaStore: store, logger: silentLogger });
    await endpoint.start();
    const ledger = new MongoClient(mongoUrl);
    cleanups.push(async () => {
      await endpoint.stop();
      await transport.deleteDeclaredTopology();
      await transport.close();
      await ledger.db(database).dropDatabase();
      await ledger.close();
      await store.close();
    });
    const entries = async () =>
      (await ledger.db(database).collection('ledger').find({}).sort({ at: 1 }).toArray()).map((e) => [
        e.what as string,
        e.worker as string,
      ]);
    const client = endpoint.workflowsAt('workers');
    const status = () => client.status('v-1');

    const v1 = await startWorker('v1-first', 'v1');
    await client.start(Versioned, { id: 'v-1', pause: '3s' }, { id: 'v-1' });
    await until(
      async () => (await status())?.pending.some((p) => p.op === 'sleep') ?? false,
      60_000,
      'the timer',
    );
    expect(await entries()).toEqual([['one', 'v1-first']]);
    await kill(v1);

    const v2 = await startWorker('v2', 'v2');
    await client.signal('v-1', MpGo, new MpGo('ops'), { signalId: 'go-1' });
    // The timer (3 s) fires under v2 too: both inputs are recorded while the instance is parked.
    await until(
      async () => {
        const s = await status();
        return s?.status === 'parked' && s.pending.length === 0 && s.history.signalsWaiting === 1;
      },
      60_000,
      'parked with the timer and the signal recorded',
    );
    expect((await status())?.parked).toMatchObject({
      position: 1,
      build: 'v2',
      requested: "activity 'mp.StepTwo'",
    });
    await kill(v2);

    await startWorker('v1-again', 'v1'); // the rollback: the recheck timer resumes it by itself
    expect(await client.result('v-1', { timeout: '60s', pollInterval: '200ms' })).toEqual([
      'one:v-1',
      'go:ops',
      'two:v-1',
    ]);
    expect(await entries()).toEqual([
      ['one', 'v1-first'],
      ['two', 'v1-again'],
    ]);
    expect((await status())?.builds.all).toEqual(['v1', 'v2']);
  }, 180_000);
});
