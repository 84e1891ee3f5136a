/**
 * Entities on RabbitMQ + FerretDB: three worker processes compete on the entity endpoint's queue
 * (test/entities/entity-worker.ts, the counter sample), and the test process drives them through
 * a send-only endpoint's clients.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ENTITY_SAGA,
  Endpoint,
  type HandledMessage,
  MongoSagaStore,
  RabbitMqTransport,
  silentLogger,
} from '../../src/index.js';
import {
  Counter,
  CounterLimits,
  type CounterState,
  CountVisit,
} from '../../samples/entities/counter-entity.js';
import { eventually } from '../conformance/transport.js';
import { derivedId } from '../../src/util/ids.js';

const rabbitUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const mongoUrl = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';
const tag = randomUUID().slice(0, 8);
const prefix = `ent-${tag}.`;
const database = `lh_ent_${tag}`;
const workers: { child: ChildProcess; lines: string[]; waiters: (() => void)[] }[] = [];
let driver: Endpoint;
let transport: RabbitMqTransport;

async function startWorker(name: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/entities/entity-worker.ts'], {
    env: {
      ...process.env,
      LH_RABBITMQ_URL: rabbitUrl,
      LH_MONGODB_URL: mongoUrl,
      LH_DATABASE: database,
      LH_PREFIX: prefix,
      LH_ENDPOINT: 'counters',
      LH_WORKER: name,
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const worker = { child, lines: [] as string[], waiters: [] as (() => void)[] };
  workers.push(worker);
  createInterface({ input: child.stdout! }).on('line', (line) => {
    worker.lines.push(line);
    for (const wake of worker.waiters.splice(0)) wake();
  });
  await said(worker, 'ready', () => {
    throw new Error(`worker ${name} exited before it was ready`);
  });
}

/** Resolves once the worker has printed `line` (`onExit` if it exits first). */
function said(worker: (typeof workers)[number], line: string, onExit?: () => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (worker.lines.includes(line)) return resolve();
      const failed = worker.lines.find((l) => l.startsWith('failed'));
      if (failed) return reject(new Error(failed));
      worker.waiters.push(check);
    };
    worker.child.once('exit', () => {
      try {
        onExit?.();
      } catch (error) {
        reject(error as Error);
      }
    });
    check();
  });
}

beforeAll(async () => {
  await Promise.all(['w1', 'w2', 'w3'].map((name) => startWorker(name)));
  transport = new RabbitMqTransport({ url: rabbitUrl, prefix });
  driver = new Endpoint({
    name: 'driver',
    transport,
    sagaStore: new MongoSagaStore({ url: mongoUrl, database, logger: silentLogger }),
    routes: { 'longhaul.entity.Operation': 'counters' },
    workflowRoutes: { CountVisit: 'counters' },
    logger: silentLogger,
  });
  await driver.start();
});

afterAll(async () => {
  await Promise.all(
    workers.map(
      ({ child }) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  await driver?.stop();
  const cleanup = new RabbitMqTransport({ url: rabbitUrl, prefix });
  await cleanup.declareEndpoint({ name: 'counters', subscriptions: [] });
  await cleanup.deleteDeclaredTopology();
  await cleanup.close();
  await driver?.close();
  const mongo = new MongoClient(mongoUrl);
  await mongo.db(database).dropDatabase();
  await mongo.close();
});

describe('entities on RabbitMQ + FerretDB, three worker processes', () => {
  it('200 concurrent add signals, sent by the three workers and applied by them, give the exact total', async () => {
    const key = `total-${tag}`;
    const shares = [
      [1, 67],
      [68, 134],
      [135, 200],
    ] as const;
    workers.forEach((worker, i) =>
      worker.child.stdin!.write(`add ${key} ${shares[i]![0]} ${shares[i]![1]}\n`),
    );
    await Promise.all(workers.map((worker) => said(worker, 'sent')));
    await eventually(
      async () => ((await driver.entities.read(Counter, key))?.operations ?? 0) >= 200,
      45_000,
      '200 operations applied',
    );
    const snapshot = await driver.entities.read<CounterState>(Counter, key);
    expect(snapshot?.operations).toBe(200);
    expect(snapshot?.state.value).toBe((200 * 201) / 2);
  });

  it('callEntity from a workflow returns the operation result; a client call returns it too', async () => {
    const page = `page-${tag}`;
    expect(await driver.entities.callEntity(Counter, page, 'add', 41)).toBe(41);
    const id = await driver.workflows.start(CountVisit, { page }, { id: `visit-${tag}` });
    expect(await driver.workflows.result(id, { timeout: '30s' })).toBe(`${page} has 42 visits`);
  });

  it('an operation redelivered after a crash between its commit and its ack is not applied twice', async () => {
    // A fourth consumer, in this process, on its own queue: its store fails the handling right
    // after the commit of one operation (as a crash before the ack would), so the broker delivers
    // that message again (a delayed retry through RabbitMQ), and the entity's inbox recognises it.
    const key = `redelivered-${tag}`;
    const operationId = randomUUID();
    // The message id the client derives from the operation id (so a retried call is the same message).
    const target = derivedId('entity-operation', 'Counter', key, operationId);
    const store = new MongoSagaStore({ url: mongoUrl, database, logger: silentLogger });
    const commit = store.commit.bind(store);
    let crashed = 0;
    store.commit = async (c) => {
      await commit(c);
      if (crashed === 0 && c.record.sagaType === ENTITY_SAGA && c.record.inbox.some((e) => e.id === target)) {
        crashed++;
        throw new Error('simulated crash after the commit, before the ack');
      }
    };
    const handled: HandledMessage[] = [];
    const localTransport = new RabbitMqTransport({ url: rabbitUrl, prefix });
    const local = new Endpoint({
      name: 'counters-local',
      transport: localTransport,
      sagaStore: store,
      entities: [Counter],
      resolve: (ctor) => (ctor === Counter ? new Counter(new CounterLimits()) : new ctor()),
      recoverability: { immediateRetries: 0, delays: ['200ms'] },
      logger: silentLogger,
      onHandled: (h) => handled.push(h),
    });
    await local.start();
    try {
      const client = driver.entitiesAt('counters-local');
      await client.signalEntity(Counter, key, 'add', 5);
      expect(await client.signalEntity(Counter, key, 'add', 7, { operationId })).toBe(target);
      await eventually(() => handled.some((h) => h.sagas.some((s) => s.result === 'duplicate')), 20_000);
      const snapshot = await client.read<CounterState>(Counter, key);
      expect(crashed).toBe(1);
      expect(snapshot?.state.value).toBe(12);
      expect(snapshot?.operations).toBe(2);
    } finally {
      await local.stop();
      await localTransport.deleteDeclaredTopology();
      await localTransport.close();
      await store.close();
    }
  });
});
