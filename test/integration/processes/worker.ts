/**
 * A worker process for the multi-process tests: one endpoint on RabbitMQ + MongoDB running the
 * scenario's sagas and workflows. Prints `ready` once started; stops gracefully on SIGTERM.
 */
import 'reflect-metadata';
import { Endpoint, RabbitMqTransport, silentLogger } from '../../../src/index.js';
import { MongoSagaStore } from '../../../src/persistence/mongodb/index.js';
import { MongoTimeoutStore } from '../../../src/timeouts/mongodb/index.js';
import { closeLedger, MpCounter, stepOne, stepTwo, TwoSteps, Versioned } from './scenario.js';
import { requiredEnv as env, runWorker } from './worker-process.js';

const mongo = { url: env('LH_MONGODB_URL'), database: env('LH_DATABASE') };
const endpoint = new Endpoint({
  name: env('LH_ENDPOINT'),
  transport: new RabbitMqTransport({
    url: env('LH_RABBITMQ_URL'),
    prefix: env('LH_PREFIX'),
    connectionName: process.env.LH_WORKER,
  }),
  sagaStore: new MongoSagaStore(mongo),
  timeoutStore: new MongoTimeoutStore(mongo),
  sagas: [MpCounter],
  workflows: [TwoSteps, Versioned],
  workflowOptions: {
    buildId: process.env.LH_CODE ?? 'v1',
    parkedRecheckInterval: process.env.LH_RECHECK ?? '1m',
  },
  activities: [stepOne, stepTwo],
  concurrency: Number(process.env.LH_CONCURRENCY ?? '8'),
  logger: silentLogger,
  timeouts: { pollInterval: '200ms', lease: '5s' },
  outbox: { sweepInterval: '1s', lease: '3s' },
});

await runWorker(endpoint, {
  beforeExit: async () => {
    await closeLedger();
  },
});
