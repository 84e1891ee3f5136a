/**
 * Several worker processes on one RabbitMQ queue and one MongoDB-wire store (FerretDB through its
 * gate): competing consumers, and a workflow that survives the death of the worker running it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { MongoClient } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import { Endpoint, type Handler, HandlerFor, RabbitMqTransport, silentLogger } from '../../../src/index.js';
import { MongoSagaStore } from '../../../src/persistence/mongodb/index.js';
import { eventually as until } from '../../conformance/transport.js';
import { MpCompleted, MpStarted, TwoSteps } from './scenario.js';

const rabbitUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const mongoUrl = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';

const completions: MpCompleted[] = [];
@HandlerFor(MpCompleted)
class CompletionObserver implements Handler<MpCompleted> {
  handle(m: MpCompleted): void {
    completions.push(m);
  }
}

interface Run {
  prefix: string;
  database: string;
  endpoint: string;
  workers: ChildProcess[];
  cleanups: (() => Promise<void>)[];
}

let run: Run | undefined;

function newRun(): Run {
  const tag = randomUUID().slice(0, 8);
  run = { prefix: `mp-${tag}.`, database: `lh_mp_${tag}`, endpoint: 'workers', workers: [], cleanups: [] };
  return run;
}

async function startWorker(r: Run, name: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/integration/processes/worker.ts'], {
    env: {
      ...process.env,
      LH_RABBITMQ_URL: rabbitUrl,
      LH_MONGODB_URL: mongoUrl,
      LH_DATABASE: r.database,
      LH_PREFIX: r.prefix,
      LH_ENDPOINT: r.endpoint,
      LH_WORKER: name,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  r.workers.push(child);
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => line === 'ready' && resolve());
    child.once('exit', (code) => reject(new Error(`worker ${name} exited with ${code} before it was ready`)));
  });
  return child;
}

/** The test process's own endpoint: publishes, observes completions, reads the store. */
async function driver(
  r: Run,
): Promise<{ endpoint: Endpoint; store: MongoSagaStore; transport: RabbitMqTransport }> {
  const transport = new RabbitMqTransport({ url: rabbitUrl, prefix: r.prefix });
  const store = new MongoSagaStore({ url: mongoUrl, database: r.database });
  const endpoint = new Endpoint({
    name: 'observer',
    transport,
    sagaStore: store,
    handlers: [CompletionObserver],
    logger: silentLogger,
  });
  await endpoint.start();
  r.cleanups.push(async () => {
    await endpoint.stop();
    await transport.deleteDeclaredTopology();
    await transport.close();
    const client = new MongoClient(mongoUrl);
    await client.db(r.database).dropDatabase();
    await client.close();
    await store.close();
  });
  return { endpoint, store, transport };
}

afterEach(async () => {
  if (!run) return;
  for (const worker of run.workers)
    if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
  for (const cleanup of run.cleanups.reverse()) await cleanup();
  run = undefined;
});

describe('several worker processes on RabbitMQ + FerretDB', () => {
  it('3 workers competing on one queue complete 334 sagas (1,002 saga messages) each exactly once', async () => {
    const r = newRun();
    completions.length = 0;
    const { endpoint, store } = await driver(r);
    await Promise.all(['w1', 'w2', 'w3'].map((name) => startWorker(r, name)));
    const sagas = 334;
    await Promise.all(Array.from({ length: sagas }, (_, i) => endpoint.bus.publish(new MpStarted(`s-${i}`))));
    await until(() => completions.length >= sagas, 240_000, `${sagas} completions`);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // a duplicate would arrive now
    expect(completions).toHaveLength(sagas);
    expect(new Set(completions.map((c) => c.id)).size).toBe(sagas);
    expect(completions.every((c) => c.steps === 2)).toBe(true);
    const workers = new Set(completions.map((c) => c.worker));
    expect(workers.size).toBeGreaterThan(1); // the work really was shared
    // The last step's outbox is marked sent just after its message went out (and was seen above).
    const settled = async (): Promise<boolean> => {
      const records = await store.list('MpCounter', {}, { limit: 1000 });
      return records.every((rec) => rec.status === 'completed' && rec.outbox.length === 0);
    };
    await until(settled, 30_000, 'every instance completed with its outbox empty').catch(() => undefined);
    const records = await store.list('MpCounter', {}, { limit: 1000 });
    expect(records).toHaveLength(sagas);
    expect(
      records.filter((rec) => rec.status !== 'completed' || rec.version !== 3).map((rec) => rec.id),
    ).toEqual([]);
    expect(records.filter((rec) => rec.outbox.length > 0).map((rec) => rec.id)).toEqual([]);
  }, 300_000);

  it('a workflow whose worker is killed after an activity completed resumes on another worker; the activity does not run again', async () => {
    const r = newRun();
    const { endpoint } = await driver(r);
    const first = await startWorker(r, 'first');
    const client = endpoint.workflowsAt(r.endpoint);
    const ledger = new MongoClient(mongoUrl);
    r.cleanups.push(() => ledger.close());
    const entries = () => ledger.db(r.database).collection('ledger').find({}).sort({ at: 1 }).toArray();
    await client.start(TwoSteps, { id: 'k-1', pause: '3s' }, { id: 'k-1' });
    await until(
      async () => (await client.status('k-1'))?.pending.some((p) => p.op === 'sleep') ?? false,
      60_000,
      'the timer',
    );
    expect((await entries()).map((e) => [e.what, e.worker])).toEqual([['one', 'first']]);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    await startWorker(r, 'second');
    expect(await client.result('k-1', { timeout: '60s', pollInterval: '200ms' })).toEqual([
      'one:k-1',
      'two:k-1',
    ]);
    expect((await entries()).map((e) => [e.what, e.worker])).toEqual([
      ['one', 'first'],
      ['two', 'second'],
    ]);
  }, 120_000);
});
