/**
 * One worker process of the contention workload: an endpoint on RabbitMQ + MongoDB running the
 * counter saga, with `LH_PARTITIONS` partitions (0: one shared queue). Prints `ready` once started;
 * on a partitioned endpoint, `owns <json>` whenever the partitions it owns change; on SIGTERM stops
 * gracefully and prints one line `stats <json>`: handler runs and the commit
 * conflicts its endpoint counted (read from its own OpenTelemetry meter provider).
 */
import 'reflect-metadata';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Endpoint, type EndpointOptions } from '../../src/index.js';
import { runWorker, servicesFromEnv } from '../../test/integration/processes/worker-process.js';
import { OnDemandReader, pointsOf, sumOf } from '../../test/support/otel.js';
import { ContentionCounter, runs } from './scenario.js';

const reader = new OnDemandReader();
const meterProvider = new MeterProvider({ readers: [reader] });
const partitions = Number(process.env.LH_PARTITIONS ?? '0');
const options: EndpointOptions = {
  ...servicesFromEnv(),
  sagas: [ContentionCounter],
  concurrency: Number(process.env.LH_CONCURRENCY ?? '8'),
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
