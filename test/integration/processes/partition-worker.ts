/**
 * A worker process of the partitioned multi-process test: an endpoint with `LH_PARTITIONS`
 * partitions on RabbitMQ + MongoDB, lease `LH_LEASE`. Prints `ready` once started and
 * `owns <json>` whenever the partitions it consumes change; stops gracefully on SIGTERM.
 */
import 'reflect-metadata';
import { Endpoint, RabbitMqTransport, silentLogger } from '../../../src/index.js';
import { MongoSagaStore } from '../../../src/persistence/mongodb/index.js';
import { MongoTimeoutStore } from '../../../src/timeouts/mongodb/index.js';
import { PartTally } from './partition-scenario.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const mongo = { url: env('LH_MONGODB_URL'), database: env('LH_DATABASE'), logger: silentLogger };
const endpoint = new Endpoint({
  name: env('LH_ENDPOINT'),
  transport: new RabbitMqTransport({
    url: env('LH_RABBITMQ_URL'),
    prefix: env('LH_PREFIX'),
    connectionName: process.env.LH_WORKER,
    logger: silentLogger,
  }),
  sagaStore: new MongoSagaStore(mongo),
  timeoutStore: new MongoTimeoutStore(mongo),
  sagas: [PartTally],
  partitions: Number(env('LH_PARTITIONS')),
  partitionLease: env('LH_LEASE'),
  logger: silentLogger,
  timeouts: { pollInterval: '1s' },
});

await endpoint.start();
process.stdout.write('ready\n');

let owned = '';
setInterval(() => {
  const now = JSON.stringify([...endpoint.partitions].sort((a, b) => a - b));
  if (now !== owned) process.stdout.write(`owns ${(owned = now)}\n`);
}, 50).unref();

process.on('SIGTERM', () => {
  void (async () => {
    await endpoint.stop();
    await endpoint.transport.close();
    await endpoint.sagaStore.close();
    await endpoint.timeoutStore.close();
    process.exit(0);
  })();
});
