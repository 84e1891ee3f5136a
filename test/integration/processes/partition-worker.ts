/**
 * A worker process of the partitioned multi-process test: an endpoint with `LH_PARTITIONS`
 * partitions on RabbitMQ + MongoDB, lease `LH_LEASE`. Prints `ready` once started and
 * `owns <json>` whenever the partitions it consumes change; stops gracefully on SIGTERM.
 */
import 'reflect-metadata';
import { Endpoint } from '../../../src/index.js';
import { PartTally } from './partition-scenario.js';
import { requiredEnv as env, runWorker, servicesFromEnv } from './worker-process.js';

const endpoint = new Endpoint({
  ...servicesFromEnv(),
  sagas: [PartTally],
  partitions: Number(env('LH_PARTITIONS')),
  partitionLease: env('LH_LEASE'),
  timeouts: { pollInterval: '1s' },
});

await runWorker(endpoint, { reportPartitions: true });
