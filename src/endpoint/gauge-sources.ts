import { type SagaStore } from '../persistence/saga-store.js';
import { type GaugeSources } from '../telemetry/telemetry.js';
import { type TimeoutStore } from '../timeouts/timeout-store.js';
import { WORKFLOW_SAGA } from '../workflows/engine.js';

/**
 * Where an endpoint's store-wide gauges read their values: the sweeper's last report, and counts
 * from the saga and timeout stores (queried only when a metric reader collects).
 */
export function gaugeSources(parts: {
  readonly sagaStore: SagaStore;
  readonly timeoutStore: TimeoutStore;
  readonly oldestPendingAgeMs: () => number | undefined;
  readonly now: () => Date;
}): GaugeSources {
  return {
    outboxOldestAgeMs: parts.oldestPendingAgeMs,
    outboxPending: async () => {
      // Every instance with an outbox entry created before the end of time: all with one pending.
      const rows = await parts.sagaStore.admin.count([{ outboxOlderThan: new Date(8.64e15) }], []);
      return rows.reduce((sum, row) => sum + row.count, 0);
    },
    timeoutsOverdueMs: async () => {
      const next = await parts.timeoutStore.nextDueAt();
      return next === undefined ? 0 : Math.max(0, parts.now().getTime() - next.getTime());
    },
    workflowInstances: async () => {
      // The engine labels each instance with its workflow type and status.
      const rows = await parts.sagaStore.admin.count(
        [{ sagaTypes: [WORKFLOW_SAGA] }],
        ['workflowType', 'status'],
      );
      return rows.map((row) => ({
        type: row.labels['workflowType'] ?? 'unknown',
        status: row.labels['status'] ?? row.status,
        count: row.count,
      }));
    },
  };
}
