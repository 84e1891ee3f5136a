import { type Counter, type Histogram, type Meter } from '@opentelemetry/api';
import { Metric } from './names.js';

/** The synchronous instruments of one endpoint (the gauges are registered by `Telemetry.observe`). */
export interface Instruments {
  readonly handled: Counter;
  readonly handlingDuration: Histogram;
  readonly conflicts: Counter;
  readonly retries: Counter;
  readonly errorQueueMoves: Counter;
  readonly timeoutsDelivered: Counter;
  readonly timeoutLateness: Histogram;
  readonly activityDuration: Histogram;
  readonly activityAttempts: Counter;
}

/** Creates the instruments once, from `meter` (the API's no-op meter without an SDK). */
export function instrumentsOf(meter: Meter): Instruments {
  return {
    handled: meter.createCounter(Metric.handled, {
      unit: '{message}',
      description: 'Deliveries handled, by message type, endpoint and outcome (ack, retry, error)',
    }),
    handlingDuration: meter.createHistogram(Metric.handlingDuration, {
      unit: 's',
      description: 'Time from a delivery to its disposition, immediate retries included',
    }),
    conflicts: meter.createCounter(Metric.conflicts, {
      unit: '{conflict}',
      description: 'Saga commits lost to a concurrent writer (each is rerun on fresh state)',
    }),
    retries: meter.createCounter(Metric.retries, {
      unit: '{retry}',
      description: 'Failed attempts followed by an immediate or a delayed retry',
    }),
    errorQueueMoves: meter.createCounter(Metric.errorQueueMoves, {
      unit: '{message}',
      description: 'Messages moved to the error queue',
    }),
    timeoutsDelivered: meter.createCounter(Metric.timeoutsDelivered, {
      unit: '{timeout}',
      description: 'Due timeouts delivered to their endpoint',
    }),
    timeoutLateness: meter.createHistogram(Metric.timeoutLateness, {
      unit: 's',
      description: 'How long after its due time a timeout was delivered',
    }),
    activityDuration: meter.createHistogram(Metric.activityDuration, {
      unit: 's',
      description: 'Duration of one activity attempt on a worker',
    }),
    activityAttempts: meter.createCounter(Metric.activityAttempts, {
      unit: '{attempt}',
      description: 'Activity attempts run, by activity and outcome (ok, error, cancelled)',
    }),
  };
}
