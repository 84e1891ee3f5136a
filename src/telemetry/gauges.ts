import { type Meter } from '@opentelemetry/api';
import { Attr, Metric } from './names.js';

/** Where the store-wide gauges read their values (each read at collection time only). */
export interface GaugeSources {
  /** Age in ms of the oldest pending outbox entry, as of the sweeper's last sweep. */
  outboxOldestAgeMs(): number | undefined;
  /** Instances with pending outbox entries. */
  outboxPending(): Promise<number>;
  /** How long the earliest claimable timeout has been due, in ms (0 when none is). */
  timeoutsOverdueMs(): Promise<number>;
  /** Workflow instances by type and status. */
  workflowInstances(): Promise<readonly { type: string; status: string; count: number }[]>;
}

/**
 * Registers the store-wide gauges on `meter`. Their sources are read only when a metric reader
 * collects; each endpoint sharing a store reports the same values, so alert on their maximum.
 */
export function registerGauges(meter: Meter, endpoint: string, sources: GaugeSources): void {
  const attributes = { [Attr.endpoint]: endpoint };
  meter
    .createObservableGauge(Metric.outboxOldestAge, {
      unit: 's',
      description: 'Age of the oldest pending outbox entry in the saga store, as of the last sweep',
    })
    .addCallback((result) => {
      const age = sources.outboxOldestAgeMs();
      result.observe(age === undefined ? 0 : age / 1000, attributes);
    });
  meter
    .createObservableGauge(Metric.outboxPending, {
      unit: '{instance}',
      description: 'Saga and workflow instances with pending outbox entries',
    })
    .addCallback(async (result) => result.observe(await sources.outboxPending(), attributes));
  meter
    .createObservableGauge(Metric.timeoutsOverdue, {
      unit: 's',
      description: 'How long the earliest timeout not yet delivered has been due (0 when none is)',
    })
    .addCallback(async (result) => result.observe((await sources.timeoutsOverdueMs()) / 1000, attributes));
  meter
    .createObservableGauge(Metric.workflowInstances, {
      unit: '{instance}',
      description: 'Workflow instances by type and status',
    })
    .addCallback(async (result) => {
      for (const row of await sources.workflowInstances()) {
        result.observe(row.count, { [Attr.workflowType]: row.type, [Attr.status]: row.status });
      }
    });
}
