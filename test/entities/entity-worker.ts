/**
 * A worker process for the entity tests on the services: the counter sample's entity and workflow
 * on one endpoint on RabbitMQ + MongoDB. Prints `ready` once started; on the stdin line
 * `add <key> <from> <to>` it signals `add(n)` to the counter `key` for every n from `from` to `to`,
 * all at once, and prints `sent`; stops gracefully on SIGTERM.
 */
import 'reflect-metadata';
import { createInterface } from 'node:readline';
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

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, key, from, to] = line.split(' ');
  if (command !== 'add' || !key) return;
  const amounts = Array.from({ length: Number(to) - Number(from) + 1 }, (_, i) => Number(from) + i);
  void Promise.all(amounts.map((n) => endpoint.entities.signalEntity(Counter, key, 'add', n))).then(
    () => process.stdout.write('sent\n'),
    (error: unknown) => process.stdout.write(`failed ${(error as Error).message}\n`),
  );
});

process.on('SIGTERM', () => {
  void (async () => {
    await endpoint.close();
    process.exit(0);
  })();
});
