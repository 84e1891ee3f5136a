/**
 * Where the workflow benches (`workflow-steps.ts`, `workflow-history.ts`) run: the in-memory
 * adapters, or RabbitMQ + FerretDB with a prefix and a database of their own, removed afterwards.
 */
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import {
  InMemorySagaStore,
  InMemoryTransport,
  MongoSagaStore,
  MongoTimeoutStore,
  RabbitMqTransport,
  type SagaStore,
  silentLogger,
  type Transport,
} from '../src/index.js';

export interface WorkflowBenchSetup {
  transport: Transport;
  store: SagaStore;
  /** The timeout store on the services, when asked for (in memory the endpoint makes its own). */
  timeouts?: MongoTimeoutStore;
  teardown(): Promise<void>;
}

export function memorySetup(): WorkflowBenchSetup {
  return { transport: new InMemoryTransport(), store: new InMemorySagaStore(), teardown: async () => {} };
}

/** RabbitMQ + FerretDB under `bench-<name>-<tag>` (prefix and database); `timeouts` adds a timeout store. */
export function servicesSetup(name: string, options: { timeouts?: boolean } = {}): WorkflowBenchSetup {
  const tag = randomUUID().slice(0, 8);
  const url = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';
  const database = `lh_bench_${name}_${tag}`;
  const transport = new RabbitMqTransport({
    url: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    prefix: `bench-${name}-${tag}.`,
    logger: silentLogger,
  });
  const store = new MongoSagaStore({ url, database, logger: silentLogger });
  const timeouts = options.timeouts
    ? new MongoTimeoutStore({ url, database, logger: silentLogger })
    : undefined;
  return {
    transport,
    store,
    ...(timeouts ? { timeouts } : {}),
    async teardown() {
      await transport.deleteDeclaredTopology();
      await transport.close();
      await store.close();
      await timeouts?.close();
      const client = new MongoClient(url);
      await client.db(database).dropDatabase();
      await client.close();
    },
  };
}
