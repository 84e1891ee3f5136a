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
import { requiredEnv as env, runWorker } from './worker-process.js';

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

await runWorker(endpoint, { reportPartitions: true });
