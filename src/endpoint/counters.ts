/**
 * Counters an endpoint keeps while it runs, readable with `endpoint.counters` (and, once the
 * telemetry wing exists, exported as metrics). Process-local and reset on restart: they report,
 * they never decide anything.
 */
export interface EndpointCounters {
  /**
   * Handled-message ids evicted from an instance's inbox by its cap while still inside the dedupe
   * window: a redelivery of one of them would be handled again. Raise `sagaOptions.inboxSize` (or
   * shorten `sagaOptions.dedupeWindow`) if this grows; each eviction is also logged as a warning.
   */
  inboxEvictedInWindow: number;
  /** Outbox entries moved to the dead letters (each also logged as an error). */
  outboxDeadLettered: number;
  /**
   * Outbox entries carried out after their claim's lease had ended (each occurrence logged as a
   * warning): another process may have sent them too. Lengthen `outbox.lease` if this grows.
   */
  outboxLeaseOverruns: number;
  /**
   * Saga (and workflow, entity) commits that lost a version conflict to another handling of the
   * same instance, each followed by a rerun on fresh state (or by a retry once the reruns ran out).
   * Many of them mean messages for one instance race each other: see partitioned endpoints
   * (docs/scale-out.md).
   */
  sagaCommitConflicts: number;
}

/** A fresh set of counters at zero. */
export function newCounters(): EndpointCounters {
  return { inboxEvictedInWindow: 0, outboxDeadLettered: 0, outboxLeaseOverruns: 0, sagaCommitConflicts: 0 };
}
