/**
 * One endpoint on RabbitMQ + FerretDB for the CLI tests (sagas, a handler and a workflow from
 * `fixtures.ts`), a queue prefix and database of its own, and `longhaul` run in-process.
 */
import { randomUUID } from 'node:crypto';
import {
  Endpoint,
  MongoSagaStore,
  MongoTimeoutStore,
  OperationsClient,
  RabbitMqTransport,
  silentLogger,
} from '../../src/index.js';
import { type CliIo, main } from '../../src/cli/main.js';
import { rawClient } from '../integration/mongodb/support.js';
import { Approval, Importer, OrderSaga } from './fixtures.js';

export const amqpUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const mongoUrl = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';

export interface Run {
  code: number;
  out: string;
  err: string;
}

/** Runs `longhaul …` in-process with `env` as its environment. */
export async function cli(env: Record<string, string>, ...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (text) => void out.push(text), err: (text) => void err.push(text), env };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

export interface ServicesBed {
  readonly name: string;
  readonly prefix: string;
  readonly database: string;
  readonly endpoint: Endpoint;
  readonly transport: RabbitMqTransport;
  /** An operations client over the same store (to arrange and check). */
  readonly ops: OperationsClient;
  /** Every connection flag the CLI needs for this bed. */
  readonly flags: string[];
  dispose(): Promise<void>;
}

/** Starts the endpoint; `dispose()` stops it and removes its queues and database. */
export async function startServices(purpose: string): Promise<ServicesBed> {
  const tag = randomUUID().slice(0, 8);
  const name = `${purpose}-${tag}`;
  const prefix = `lh-ops-${tag}.`;
  const database = `lh_${purpose.replace(/-/g, '_')}_${tag}`;
  const transport = new RabbitMqTransport({ url: amqpUrl, prefix, logger: silentLogger });
  const sagaStore = new MongoSagaStore({ url: mongoUrl, database, logger: silentLogger });
  const timeoutStore = new MongoTimeoutStore({ url: mongoUrl, database, logger: silentLogger });
  const endpoint = new Endpoint({
    name,
    transport,
    sagaStore,
    timeoutStore,
    sagas: [OrderSaga],
    handlers: [Importer],
    workflows: [Approval],
    logger: silentLogger,
    timeouts: { pollInterval: '100ms' },
    outbox: { sweepInterval: '100ms' },
    recoverability: { immediateRetries: 0, delays: [] },
  });
  await endpoint.start();
  const ops = new OperationsClient({
    store: sagaStore,
    timeouts: timeoutStore,
    workflows: endpoint.workflows,
  });
  return {
    name,
    prefix,
    database,
    endpoint,
    transport,
    ops,
    flags: ['--amqp', amqpUrl, '--prefix', prefix, '--mongo', mongoUrl, '--database', database],
    async dispose() {
      await endpoint.stop();
      await transport.deleteDeclaredTopology();
      await endpoint.close();
      const raw = await rawClient();
      await raw.db(database).dropDatabase();
      await raw.close();
    },
  };
}

/** Polls `check` until true (up to 20 s); throws naming `what` otherwise. */
export async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
