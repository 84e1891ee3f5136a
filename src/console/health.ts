/** The overview's outbox and timeout readings, taken from the stores. */
import { type SagaStore } from '../persistence/saga-store.js';
import { type TimeoutStore } from '../timeouts/timeout-store.js';
import { type HealthProbe } from './options.js';

/**
 * A {@link HealthProbe} over the saga store (the oldest pending outbox entry) and the timeout
 * store (the earliest timeout not yet delivered: when it is in the past, the scheduler lags).
 * @example
 * ```ts
 * await startConsole({ operations, health: storeHealth({ sagas: sagaStore, timeouts: timeoutStore }) });
 * ```
 */
export function storeHealth(stores: {
  readonly sagas: SagaStore;
  readonly timeouts?: TimeoutStore;
}): HealthProbe {
  return {
    oldestPendingOutbox: () => stores.sagas.oldestPendingOutbox(),
    nextDueTimeout: async () => stores.timeouts?.nextDueAt(),
  };
}
