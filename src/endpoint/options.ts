import { type Transport } from '../bus/transport.js';
import { ConfigurationError } from '../errors.js';
import { type SagaStore } from '../persistence/saga-store.js';
import { type SagaNotFoundPolicy } from '../sagas/dispatcher.js';
import { type TimeoutStore } from '../timeouts/timeout-store.js';
import { type Clock } from '../util/clock.js';
import { type Duration, toMillis } from '../util/duration.js';
import { type Logger } from '../util/logger.js';
import { type TelemetryOptions } from '../telemetry/telemetry.js';
import { type ActivityRef, type WorkflowClass } from '../workflows/definitions.js';
import { type WorkflowOptions } from '../workflows/wiring.js';
import { type EntityClass } from '../entities/definitions.js';
import { type EntityOptions } from '../entities/wiring.js';
import { type HandledMessage } from './message-dispatcher.js';
import { type PartitionLeases } from '../persistence/partition-leases.js';

/** Options of an {@link Endpoint}. Every field but `name` has a default. */
export interface EndpointOptions {
  /** The endpoint name: its queue, retry path and error queue derive from it. Letters, digits, `._-`. */
  name: string;
  /** Saga classes (decorated with `@Saga`). @defaultValue [] */
  sagas?: readonly (new (...args: any[]) => object)[];
  /** Plain handler classes (decorated with `@HandlerFor`). @defaultValue [] */
  handlers?: readonly (new (...args: any[]) => object)[];
  /** Workflow classes (decorated with `@Workflow`) whose instances run here. @defaultValue [] */
  workflows?: readonly WorkflowClass[];
  /** Activities (classes decorated with `@Activity`, or `activity(...)` functions) this endpoint's workers run. @defaultValue [] */
  activities?: readonly ActivityRef[];
  /** Entity classes (decorated with `@Entity`) whose operations are applied here. @defaultValue [] */
  entities?: readonly EntityClass[];
  /** Entity settings. @defaultValue call results kept 5 min, at most 200 per entity */
  entityOptions?: EntityOptions;
  /** Workflow settings. @defaultValue activities run here; 3 attempts, 1 s doubling to at most 1 min */
  workflowOptions?: WorkflowOptions;
  /** The transport. @defaultValue a new `InMemoryTransport` */
  transport?: Transport;
  /** The saga store. @defaultValue a new `InMemorySagaStore` */
  sagaStore?: SagaStore;
  /** The timeout store. @defaultValue a new `InMemoryTimeoutStore` */
  timeoutStore?: TimeoutStore;
  /** The clock. @defaultValue the system clock */
  clock?: Clock;
  /** The logger. @defaultValue console at level `info` */
  logger?: Logger;
  /**
   * OpenTelemetry providers for this endpoint's spans and metrics, instead of the globals (for a
   * process whose endpoints report to different places, or a provider kept out of the globals).
   * The trace context still travels through the global propagator and context manager, which an
   * SDK's setup registers (docs/observability.md).
   * @defaultValue the global tracer and meter providers
   */
  telemetry?: TelemetryOptions;
  /** Builds handler and saga instances. @defaultValue `new ctor()` (the Inversify module passes the container) */
  resolve?: (ctor: new (...args: any[]) => object) => object;
  /** Command routes: message type (or `prefix.*`) → endpoint. Commands handled here need none. @defaultValue {} */
  routes?: Readonly<Record<string, string>>;
  /**
   * Where this endpoint's {@link WorkflowClient} (`endpoint.workflows`, and the container's) sends
   * the workflow types it does not host: workflow type (or `prefix.*`) → the endpoint that hosts it.
   * A type neither hosted here nor routed fails the client call at once with
   * `WorkflowNotHostedError`. @defaultValue {}
   */
  workflowRoutes?: Readonly<Record<string, string>>;
  /**
   * A send-only endpoint: it publishes, sends, schedules and starts workflows, but declares no
   * queue (neither `<name>` nor `<name>.error`) and consumes nothing. An endpoint with no sagas,
   * handlers, workflows or activities is send-only anyway; `true` says so, and makes giving it any
   * of those a configuration error. @defaultValue false
   */
  sendOnly?: boolean;
  /** Handlers in flight at once. @defaultValue 8 */
  concurrency?: number;
  /**
   * A partitioned endpoint: its messages are spread by partition key over this many queues, each
   * handled one message at a time by one process, so one key's messages (one saga or workflow
   * instance's) never race each other (docs/scale-out.md). The processes serving the endpoint
   * share the partitions by leases. Choose a multiple of the most worker processes you will run
   * (2-4x). @defaultValue none: one queue, handlers compete on it
   */
  partitions?: number;
  /**
   * A partition's lease period: a process that died gives its partitions up to the others after
   * at most this long; the leases are renewed every third of it. @defaultValue '10s'
   */
  partitionLease?: Duration;
  /**
   * Where the processes of a partitioned endpoint record their membership and leases.
   * @defaultValue next to the saga store: `MongoPartitionLeases` (`<sagas collection>_partitions`)
   * on a `MongoSagaStore`, `InMemoryPartitionLeases` on an in-memory one; give one for another store
   */
  partitionLeases?: PartitionLeases;
  /** Largest accepted message body in bytes. @defaultValue 1048576 (1 MiB) */
  maxBodyBytes?: number;
  recoverability?: {
    /** In-process retries right after a failure. @defaultValue 2 */
    immediateRetries?: number;
    /** Waits before each delayed retry, then the error queue. @defaultValue ['1s', '10s', '1m'] */
    delays?: readonly Duration[];
  };
  sagaOptions?: {
    /** Reruns of a handler after losing a version conflict. @defaultValue 10 */
    conflictRetries?: number;
    /**
     * The inbox cap: at most this many handled-message ids per instance (the oldest go first). An
     * id evicted while still inside the dedupe window is logged and counted
     * (`endpoint.counters.inboxEvictedInWindow`). About 70 bytes per id in a MongoDB document.
     * @defaultValue 1000
     */
    inboxSize?: number;
    /**
     * How long an instance keeps the id of a message it handled, so that a redelivered copy is
     * recognised and not handled again. Must cover every path by which a copy can come back: the
     * delayed retries (their sum), the outbox's lease and longest retry delay, the timeout lease,
     * and the broker's redelivery of an unacknowledged message (RabbitMQ's consumer timeout, 30
     * min by default). Ids older than the window are dropped at the next commit. A window shorter
     * than the configured retry paths fails at start.
     * @defaultValue '1h', or the configured retry paths' span if longer
     */
    dedupeWindow?: Duration;
    /** How long a completed instance's tombstone keeps late messages out. @defaultValue '7d' */
    tombstoneRetention?: Duration;
    /** A message that matches no instance and may not start one: `log` and ack, or `error` queue. @defaultValue 'log' */
    notFound?: SagaNotFoundPolicy;
  };
  timeouts?: {
    /** Longest wait between looks at the timeout store. @defaultValue '1s' */
    pollInterval?: Duration;
    /** Timeouts claimed per look. @defaultValue 100 */
    batchSize?: number;
    /** A claim's lease, renewed while its batch is delivered (a dead scheduler's timeouts wait this long). @defaultValue '30s' */
    lease?: Duration;
    /** Deliveries of a claimed batch in flight at once. @defaultValue 8 */
    concurrency?: number;
    /** Delivery attempts before a timeout is dead-lettered (`timeoutStore.deadLetters`). @defaultValue 10 */
    maxAttempts?: number;
    /** The delay before a failed delivery's first retry, doubled at each further attempt. @defaultValue '1s' */
    retryDelay?: Duration;
    /** The longest delay between retries. @defaultValue '5m' */
    maxRetryDelay?: Duration;
  };
  outbox?: {
    /** How often the sweeper looks for entries left undispatched (and expired tombstones). @defaultValue '10s' */
    sweepInterval?: Duration;
    /**
     * The dispatch lease: how long a claim on an outbox entry (the committer's, a redelivery's or
     * the sweeper's) keeps every other process from sending it. After it, the sweeper or a
     * redelivery takes the entry over. Make it longer than the slowest publisher confirm.
     * @defaultValue '30s'
     */
    lease?: Duration;
    /**
     * Dispatch attempts of an entry before it is dead-lettered (moved out of the outbox to
     * `endpoint.outboxDeadLetters` with its reason). With the default delays the last attempt comes
     * about an hour after the first, so a broker or destination outage shorter than that loses
     * nothing to the dead letters. @defaultValue 20
     */
    maxAttempts?: number;
    /** The wait after an entry's first failed attempt; it doubles after each. @defaultValue '1s' */
    retryDelay?: Duration;
    /** The longest wait between two attempts of an entry. @defaultValue '5m' */
    retryMaxDelay?: Duration;
  };
  /** Called after each saga type handled a message (tracing, the demo). @defaultValue none */
  onHandled?: (handled: HandledMessage) => void;
}

/** {@link EndpointOptions} validated, with defaults applied and durations in milliseconds. */
export interface ResolvedOptions {
  readonly name: string;
  readonly routes: Readonly<Record<string, string>>;
  readonly concurrency: number;
  /** 0: not partitioned. */
  readonly partitions: number;
  readonly partitionLeaseMs: number;
  readonly maxBodyBytes: number;
  readonly immediateRetries: number;
  readonly delaysMs: readonly number[];
  readonly conflictRetries: number;
  readonly inboxSize: number;
  readonly dedupeWindowMs: number;
  readonly tombstoneRetentionMs: number;
  readonly notFound: SagaNotFoundPolicy;
  readonly pollIntervalMs: number;
  readonly timeoutBatchSize: number;
  readonly timeoutLeaseMs: number;
  readonly timeoutConcurrency: number;
  readonly timeoutMaxAttempts: number;
  readonly timeoutRetryDelayMs: number;
  readonly timeoutMaxRetryDelayMs: number;
  readonly sweepIntervalMs: number;
  readonly outboxLeaseMs: number;
  readonly outboxMaxAttempts: number;
  readonly outboxRetryDelayMs: number;
  readonly outboxRetryMaxDelayMs: number;
}

const NAME = /^[A-Za-z0-9_.-]{1,120}$/;
/** The ending of a partition's queue name (`<endpoint>.p<i>`), refused in endpoint names. */
export const PARTITION_QUEUE = /\.p\d+$/;

function int(value: unknown, field: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ConfigurationError(field, `expected an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function duration(value: Duration | undefined, field: string, fallback: Duration): number {
  if (value !== undefined && typeof value !== 'number' && typeof value !== 'string') {
    throw new ConfigurationError(field, `expected a duration such as '30s', got ${JSON.stringify(value)}`);
  }
  return toMillis(value ?? fallback, field);
}

function positive(ms: number, field: string): number {
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new ConfigurationError(field, `expected a finite duration above zero, got ${ms} ms`);
  }
  return ms;
}

/** The `telemetry` option: providers with the method the facade calls, or nothing. */
function checkTelemetry(telemetry: TelemetryOptions | undefined): void {
  if (telemetry === undefined) return;
  if (telemetry === null || typeof telemetry !== 'object') {
    throw new ConfigurationError('telemetry', 'expected { tracerProvider?, meterProvider? }');
  }
  const { tracerProvider, meterProvider } = telemetry;
  if (tracerProvider !== undefined && typeof tracerProvider?.getTracer !== 'function') {
    throw new ConfigurationError('telemetry.tracerProvider', 'expected a TracerProvider (with getTracer)');
  }
  if (meterProvider !== undefined && typeof meterProvider?.getMeter !== 'function') {
    throw new ConfigurationError('telemetry.meterProvider', 'expected a MeterProvider (with getMeter)');
  }
}

/** The partition lease in ms (checked even without `partitions`, so a typo fails at once). */
function partitionLease(options: EndpointOptions): number {
  const ms = positive(duration(options.partitionLease, 'partitionLease', 10_000), 'partitionLease');
  if (ms < 300) {
    throw new ConfigurationError(
      'partitionLease',
      `expected at least 300 ms (renewed every third), got ${ms} ms`,
    );
  }
  const leases = options.partitionLeases;
  if (leases !== undefined && typeof leases?.claim !== 'function') {
    throw new ConfigurationError(
      'partitionLeases',
      'expected a PartitionLeases (init, heartbeat, claim, ...)',
    );
  }
  if ((options.partitions !== undefined || leases !== undefined) && options.sendOnly === true) {
    throw new ConfigurationError(
      'partitions',
      'a send-only endpoint has no queue to partition: drop one of them',
    );
  }
  return ms;
}

/** Validates options once, at start; the error names the bad field. */
export function resolveOptions(options: EndpointOptions): ResolvedOptions {
  checkTelemetry(options.telemetry);
  if (typeof options.name !== 'string' || !NAME.test(options.name)) {
    throw new ConfigurationError(
      'name',
      `expected letters, digits, '.', '_' or '-' (1–120), got ${JSON.stringify(options.name)}`,
    );
  }
  if (PARTITION_QUEUE.test(options.name)) {
    throw new ConfigurationError(
      'name',
      `'${options.name}' ends like a partition queue ('.p' and digits) and would collide with one: rename it`,
    );
  }
  const routes = options.routes ?? {};
  for (const [type, endpoint] of Object.entries(routes)) {
    if (typeof endpoint !== 'string' || !NAME.test(endpoint)) {
      throw new ConfigurationError(
        `routes['${type}']`,
        `expected an endpoint name, got ${JSON.stringify(endpoint)}`,
      );
    }
  }
  for (const [type, endpoint] of Object.entries(options.workflowRoutes ?? {})) {
    if (typeof endpoint !== 'string' || !NAME.test(endpoint)) {
      throw new ConfigurationError(
        `workflowRoutes['${type}']`,
        `expected an endpoint name, got ${JSON.stringify(endpoint)}`,
      );
    }
  }
  if (options.sendOnly !== undefined && typeof options.sendOnly !== 'boolean') {
    throw new ConfigurationError(
      'sendOnly',
      `expected true or false, got ${JSON.stringify(options.sendOnly)}`,
    );
  }
  if (options.sendOnly === true) {
    for (const field of ['sagas', 'handlers', 'workflows', 'activities', 'entities'] as const) {
      if ((options[field]?.length ?? 0) > 0) {
        throw new ConfigurationError(
          field,
          `a send-only endpoint handles nothing: host the ${field} on another endpoint, or drop sendOnly`,
        );
      }
    }
  }
  const delays = options.recoverability?.delays ?? ['1s', '10s', '1m'];
  if (!Array.isArray(delays))
    throw new ConfigurationError('recoverability.delays', 'expected an array of durations');
  const notFound = options.sagaOptions?.notFound ?? 'log';
  if (notFound !== 'log' && notFound !== 'error' && notFound !== 'retry') {
    throw new ConfigurationError(
      'sagaOptions.notFound',
      `expected 'log', 'error' or 'retry', got ${JSON.stringify(notFound)}`,
    );
  }
  const base = {
    name: options.name,
    routes,
    concurrency: int(options.concurrency, 'concurrency', 8, 1),
    partitions: int(options.partitions, 'partitions', 0, 1),
    partitionLeaseMs: partitionLease(options),
    maxBodyBytes: int(options.maxBodyBytes, 'maxBodyBytes', 1024 * 1024, 1),
    immediateRetries: int(options.recoverability?.immediateRetries, 'recoverability.immediateRetries', 2, 0),
    delaysMs: delays.map((d, i) => duration(d, `recoverability.delays[${i}]`, 0)),
    conflictRetries: int(options.sagaOptions?.conflictRetries, 'sagaOptions.conflictRetries', 10, 0),
    inboxSize: int(options.sagaOptions?.inboxSize, 'sagaOptions.inboxSize', 1000, 1),
    tombstoneRetentionMs: duration(
      options.sagaOptions?.tombstoneRetention,
      'sagaOptions.tombstoneRetention',
      '7d',
    ),
    notFound,
    pollIntervalMs: duration(options.timeouts?.pollInterval, 'timeouts.pollInterval', '1s'),
    timeoutBatchSize: int(options.timeouts?.batchSize, 'timeouts.batchSize', 100, 1),
    timeoutLeaseMs: duration(options.timeouts?.lease, 'timeouts.lease', '30s'),
    timeoutConcurrency: int(options.timeouts?.concurrency, 'timeouts.concurrency', 8, 1),
    timeoutMaxAttempts: int(options.timeouts?.maxAttempts, 'timeouts.maxAttempts', 10, 1),
    timeoutRetryDelayMs: duration(options.timeouts?.retryDelay, 'timeouts.retryDelay', '1s'),
    timeoutMaxRetryDelayMs: duration(options.timeouts?.maxRetryDelay, 'timeouts.maxRetryDelay', '5m'),
    sweepIntervalMs: duration(options.outbox?.sweepInterval, 'outbox.sweepInterval', '10s'),
    outboxLeaseMs: positive(duration(options.outbox?.lease, 'outbox.lease', '30s'), 'outbox.lease'),
    outboxMaxAttempts: int(options.outbox?.maxAttempts, 'outbox.maxAttempts', 20, 1),
    outboxRetryDelayMs: positive(
      duration(options.outbox?.retryDelay, 'outbox.retryDelay', '1s'),
      'outbox.retryDelay',
    ),
    outboxRetryMaxDelayMs: positive(
      duration(options.outbox?.retryMaxDelay, 'outbox.retryMaxDelay', '5m'),
      'outbox.retryMaxDelay',
    ),
  };
  return { ...base, dedupeWindowMs: dedupeWindow(options.sagaOptions?.dedupeWindow, base) };
}

/** The broker's longest hold of an unacknowledged delivery before it redelivers (RabbitMQ default). */
const BROKER_REDELIVERY_MS = 30 * 60_000;

/**
 * The dedupe window: the configured one, which must cover the configured retry paths, or by default
 * one hour (twice RabbitMQ's consumer timeout) or the retry paths' span if that is longer.
 */
function dedupeWindow(value: Duration | undefined, o: Omit<ResolvedOptions, 'dedupeWindowMs'>): number {
  const span =
    o.delaysMs.reduce((sum, d) => sum + d, 0) + o.outboxLeaseMs + o.outboxRetryMaxDelayMs + o.timeoutLeaseMs;
  if (value === undefined) return Math.max(2 * BROKER_REDELIVERY_MS, span);
  const ms = positive(duration(value, 'sagaOptions.dedupeWindow', '1h'), 'sagaOptions.dedupeWindow');
  if (ms < span) {
    throw new ConfigurationError(
      'sagaOptions.dedupeWindow',
      `${ms} ms is shorter than the retry paths it must cover (${span} ms: the sum of recoverability.delays + outbox.lease + outbox.retryMaxDelay + timeouts.lease); a copy redelivered after the window would be handled twice. Lengthen it or shorten those.`,
    );
  }
  return ms;
}
