/**
 * A worker process for the entity tests on the services: the counter sample's entity and workflow
 * on one endpoint on RabbitMQ + MongoDB. Prints `ready` once started; stops gracefully on SIGTERM.
 */
import 'reflect-metadata';
import { Container } from 'inversify';
import { Endpoint, longhaulModule, RabbitMqTransport, silentLogger } from '../../src/index.js';
import { MongoSagaStore } from '../../src/persistence/mongodb/index.js';
import { MongoTimeoutStore } from '../../src/timeouts/mongodb/index.js';
import { Counter, CounterLimits, CountVisit } from '../../samples/entities/counter-entity.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const mongo = { url: env('LH_MONGODB_URL'), database: env('LH_DATABASE'), logger: silentLogger };
const container = new Container();
container.bind(CounterLimits).toSelf().inSingletonScope();
container.load(
  longhaulModule({
    name: env('LH_ENDPOINT'),
    transport: new RabbitMqTransport({
      url: env('LH_RABBITMQ_URL'),
      prefix: env('LH_PREFIX'),
      connectionName: process.env.LH_WORKER,
    }),
    sagaStore: new MongoSagaStore(mongo),
    timeoutStore: new MongoTimeoutStore(mongo),
    entities: [Counter],
    workflows: [CountVisit],
    concurrency: 8,
    logger: silentLogger,
    timeouts: { pollInterval: '200ms' },
    outbox: { sweepInterval: '1s', lease: '3s' },
  }),
);
const endpoint = container.get(Endpoint);
await endpoint.start();
process.stdout.write('ready\n');

process.on('SIGTERM', () => {
  void (async () => {
    await endpoint.close();
    process.exit(0);
  })();
});
