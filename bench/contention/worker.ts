/**
 * One worker process of the contention workload: an endpoint on RabbitMQ + MongoDB running the
 * counter saga, with `LH_PARTITIONS` partitions (0: one shared queue). Prints `ready` once started;
 * on a partitioned endpoint, `owns <json>` whenever the partitions it owns change; on SIGTERM stops
 * gracefully and prints one line `stats <json>`: handler runs and the commit
 * conflicts its endpoint counted (read from its own OpenTelemetry meter provider).
 */
import 'reflect-metadata';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Endpoint, type EndpointOptions, RabbitMqTransport, silentLogger } from '../../src/index.js';
import { MongoSagaStore } from '../../src/persistence/mongodb/index.js';
import { MongoTimeoutStore } from '../../src/timeouts/mongodb/index.js';
import { requiredEnv as env, runWorker } from '../../test/integration/processes/worker-process.js';
import { OnDemandReader, pointsOf, sumOf } from '../../test/support/otel.js';
import { ContentionCounter, runs } from './scenario.js';

const reader = new OnDemandReader();
const meterProvider = new MeterProvider({ readers: [reader] });
const mongo = { url: env('LH_MONGODB_URL'), database: env('LH_DATABASE'), logger: silentLogger };
const partitions = Number(process.env.LH_PARTITIONS ?? '0');
const options: EndpointOptions = {
  name: env('LH_ENDPOINT'),
  transport: new RabbitMqTransport({
    url: env('LH_RABBITMQ_URL'),
    prefix: env('LH_PREFIX'),
    connectionName: process.env.LH_WORKER,
    logger: silentLogger,
  }),
  sagaStore: new MongoSagaStore(mongo),
  timeoutStore: new MongoTimeoutStore(mongo),
  sagas: [ContentionCounter],
  concurrency: Number(process.env.LH_CONCURRENCY ?? '8'),
  logger: silentLogger,
  telemetry: { meterProvider },
  ...(partitions > 0 ? { partitions, partitionLease: process.env.LH_LEASE ?? '3s' } : {}),
};
const endpoint = new Endpoint(options);

await runWorker(endpoint, {
  reportPartitions: partitions > 0,
  beforeExit: async () => {
    const points = await pointsOf(reader);
    return `stats ${JSON.stringify({ runs: runs.count, conflicts: sumOf(points, 'longhaul.saga.commit.conflicts') })}`;
  },
});
