/**
 * Activity start-to-close and heartbeat timeouts and cancellation, in memory (real clock, short
 * durations): the scenarios are in activity-timeout-scenarios.ts.
 */
import { InMemorySagaStore, InMemoryTransport } from '../../src/index.js';
import { InMemoryTimeoutStore } from '../../src/timeouts/memory/in-memory-timeout-store.js';
import { activityTimeoutTests } from './activity-timeout-scenarios.js';

activityTimeoutTests(
  'activity timeouts, heartbeats and cancellation (in memory)',
  () => ({
    transport: new InMemoryTransport(),
    sagaStore: new InMemorySagaStore(),
    timeoutStore: new InMemoryTimeoutStore(),
    cleanup: async () => {},
  }),
  10_000,
  100,
);
