/**
 * # Telemetry
 *
 * The one place Longhaul talks to `@opentelemetry/api`: an endpoint builds one {@link Telemetry}
 * from the global (or given) tracer and meter providers, and the receive pipeline, the commit
 * path, the outbox, the timeout scheduler and the workflow engine call its few hooks. With no SDK
 * registered (the API's no-op tracer and meter), {@link Telemetry.live} is false and the callers
 * skip the hooks, so the hot path builds no attributes and no closures.
 *
 * Trace context travels in message headers (the global propagator: W3C `traceparent` with the
 * SDK's defaults), so it survives the outbox, the timeout store, delayed retries and error
 * queues; see docs/observability.md for the span tree and the metric table.
 */
import {
  type Attributes,
  context,
  type Context,
  createNoopMeter,
  type Link,
  type Meter,
  type MeterProvider,
  metrics,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { Attr, SCOPE } from './names.js';
import { type GaugeSources, registerGauges } from './gauges.js';
import { type Instruments, instrumentsOf } from './instruments.js';
import { carried, carrying, type WithHeaders } from './propagation.js';

export { type GaugeSources } from './gauges.js';
export { withActiveContext } from './propagation.js';

/** Sets attributes on the span of a hook (a no-op without an SDK). */
export interface SpanScope {
  set(attributes: Attributes): void;
  /** Marks the span failed without an exception being thrown. */
  failed(message: string): void;
}

/** Options of {@link Telemetry}. */
export interface TelemetryOptions {
  /** @defaultValue the global tracer provider (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider;
  /** @defaultValue the global meter provider (`metrics.getMeterProvider()`) */
  meterProvider?: MeterProvider;
}

type Headers = Readonly<Record<string, string>>;

const TYPE_HEADER = 'longhaul.type';
const CONVERSATION_HEADER = 'longhaul.conversation-id';
const DELAYED_HEADER = 'longhaul.delayed-retries';

const ms = (from: number): number => (performance.now() - from) / 1000;

/** What the global tracer provider delegates to while no SDK is registered. */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();
const NOOP_METER = createNoopMeter().constructor;
const NOOP_SCOPE: SpanScope = { set: () => {}, failed: () => {} };

/** The hooks; one per endpoint (see the file header). */
export class Telemetry {
  private readonly tracer: Tracer;
  private readonly meter: Meter;
  private readonly instruments: Instruments;
  private readonly tracerProvider: TracerProvider;
  /** False when the meter is the API's no-op one (no SDK when the endpoint was built). */
  private readonly metered: boolean;

  constructor(
    readonly endpoint: string,
    /** `messaging.system` of the endpoint's transport (`rabbitmq`, `longhaul.memory`). */
    readonly system: string,
    options: TelemetryOptions = {},
  ) {
    this.tracerProvider = options.tracerProvider ?? trace.getTracerProvider();
    this.tracer = this.tracerProvider.getTracer(SCOPE);
    this.meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE);
    this.metered = !(this.meter instanceof NOOP_METER);
    this.instruments = instrumentsOf(this.meter);
  }

  /**
   * True once a tracer provider is registered (checked at each hook: the API's global tracer is
   * a proxy that picks up an SDK registered later). While false, and without metrics, the hooks
   * only call through, which keeps their cost without an SDK to a property read or two.
   */
  get tracing(): boolean {
    const provider = this.tracerProvider;
    return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_TRACER_PROVIDER;
  }

  /** False when neither traces nor metrics are recorded: callers then skip the hooks altogether. */
  get live(): boolean {
    return this.metered || this.tracing;
  }

  /**
   * The `process` span of one delivery (a child of the context the message carries) around the
   * whole receive pipeline: decode, immediate retries, the disposition. Counts the message and
   * its handling time by type, endpoint and outcome (`ack`, `retry`, `error`).
   */
  async process<T extends { readonly kind: string }>(
    message: { readonly messageId: string; readonly headers: Headers; readonly body: Buffer },
    run: () => Promise<T>,
  ): Promise<T> {
    if (!this.live) return run();
    const type = message.headers[TYPE_HEADER] ?? 'unknown';
    const attributes: Attributes = {
      [Attr.system]: this.system,
      [Attr.operationType]: 'process',
      [Attr.operationName]: 'process',
      [Attr.destination]: this.endpoint,
      [Attr.messageId]: message.messageId,
      [Attr.messageType]: type,
      [Attr.bodySize]: message.body.byteLength,
    };
    const conversation = message.headers[CONVERSATION_HEADER];
    if (conversation !== undefined) attributes[Attr.conversationId] = conversation;
    const delayed = message.headers[DELAYED_HEADER];
    if (delayed !== undefined) attributes[Attr.delayedRetries] = Number(delayed);
    const parent = carried(message.headers) ?? ROOT_CONTEXT;
    const span = this.tracer.startSpan(`process ${type}`, { kind: SpanKind.CONSUMER, attributes }, parent);
    const started = performance.now();
    const metricAttributes = { [Attr.messageType]: type, [Attr.endpoint]: this.endpoint };
    try {
      const result = await context.with(trace.setSpan(parent, span), run);
      span.setAttribute(Attr.outcome, result.kind);
      if (result.kind === 'error')
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'moved to the error queue' });
      const counted = { ...metricAttributes, [Attr.outcome]: result.kind };
      this.instruments.handled.add(1, counted);
      this.instruments.handlingDuration.record(ms(started), counted);
      return result;
    } catch (error) {
      fail(span, error);
      const counted = { ...metricAttributes, [Attr.outcome]: 'redelivered' };
      this.instruments.handled.add(1, counted);
      this.instruments.handlingDuration.record(ms(started), counted);
      throw error;
    } finally {
      span.end();
    }
  }

  /** A failed attempt: counted as an immediate or delayed retry, or an error-queue move. */
  failure(type: string, next: 'immediate-retry' | 'delayed-retry' | 'error-queue', error: unknown): void {
    if (!this.live) return;
    const attributes = { [Attr.messageType]: type, [Attr.endpoint]: this.endpoint };
    const span = trace.getSpan(context.active());
    span?.addEvent(next, { 'exception.message': (error as Error)?.message ?? String(error) });
    if (next === 'error-queue') this.instruments.errorQueueMoves.add(1, attributes);
    else
      this.instruments.retries.add(1, {
        ...attributes,
        [Attr.retryKind]: next === 'immediate-retry' ? 'immediate' : 'delayed',
      });
  }

  /**
   * An internal span around `run`, active while it runs (so messages it emits carry it); errors
   * are recorded on it and rethrown.
   */
  async span<T>(name: string, attributes: Attributes, run: (scope: SpanScope) => Promise<T>): Promise<T> {
    if (!this.tracing) return run(NOOP_SCOPE);
    return this.tracer.startActiveSpan(name, { attributes }, async (span) => {
      try {
        return await run({
          set: (more) => span.setAttributes(more),
          failed: (message) => span.setStatus({ code: SpanStatusCode.ERROR, message }),
        });
      } catch (error) {
        fail(span, error);
        throw error;
      } finally {
        span.end();
      }
    });
  }

  /** A commit lost to a concurrent writer (counted by saga type). */
  conflict(sagaType: string): void {
    if (!this.live) return;
    this.instruments.conflicts.add(1, { [Attr.sagaType]: sagaType, [Attr.endpoint]: this.endpoint });
    trace.getSpan(context.active())?.addEvent('commit-conflict');
  }

  /**
   * The `publish`/`send` span of one outgoing message, a child of the context the message was
   * created in (the handler's span, even when the outbox sweeper sends it days later); `run` gets
   * the message carrying the send span's context, which the receiver's `process` span continues.
   */
  async send<T extends WithHeaders & { readonly messageId: string }>(
    operation: 'publish' | 'send',
    destination: string | undefined,
    message: T,
    run: (message: T) => Promise<void>,
  ): Promise<void> {
    if (!this.live) return run(message);
    const type = message.headers[TYPE_HEADER] ?? 'unknown';
    const target = destination ?? type;
    const parent = carried(message.headers) ?? context.active();
    const attributes: Attributes = {
      [Attr.system]: this.system,
      [Attr.operationType]: 'send',
      [Attr.operationName]: operation,
      [Attr.destination]: target,
      [Attr.messageId]: message.messageId,
      [Attr.messageType]: type,
      [Attr.endpoint]: this.endpoint,
    };
    if (operation === 'publish') attributes[Attr.routingKey] = type;
    const conversation = message.headers[CONVERSATION_HEADER];
    if (conversation !== undefined) attributes[Attr.conversationId] = conversation;
    const span = this.tracer.startSpan(
      `${operation} ${target}`,
      { kind: SpanKind.PRODUCER, attributes },
      parent,
    );
    await sending(span, parent, message, run);
  }

  /**
   * The `schedule` span of a timeout being stored; the stored message carries its context, so the
   * delivery days later continues the same trace.
   */
  async schedule<T extends WithHeaders & { readonly messageId: string }>(
    message: T,
    dueAt: Date,
    destination: string,
    run: (message: T) => Promise<void>,
  ): Promise<void> {
    if (!this.live) return run(message);
    const type = message.headers[TYPE_HEADER] ?? 'unknown';
    const parent = carried(message.headers) ?? context.active();
    const span = this.tracer.startSpan(
      `schedule ${type}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          [Attr.system]: this.system,
          [Attr.operationType]: 'create',
          [Attr.operationName]: 'schedule',
          [Attr.destination]: destination,
          [Attr.messageId]: message.messageId,
          [Attr.messageType]: type,
          [Attr.dueAt]: dueAt.toISOString(),
        },
      },
      parent,
    );
    await sending(span, parent, message, run);
  }

  /**
   * The delivery of a due timeout: a `send` span whose parent is the `schedule` span stored with
   * the timeout (one trace from the first message to the end), with a link to it as well, marked
   * `longhaul.link.reason = timeout-requested`, so the gap of days shows as what it is. Records the
   * lateness (now − due time).
   */
  async deliverTimeout<T extends WithHeaders & { readonly messageId: string }>(
    message: T,
    dueAt: Date,
    now: Date,
    destination: string,
    run: (message: T) => Promise<void>,
  ): Promise<void> {
    if (!this.live) return run(message);
    const type = message.headers[TYPE_HEADER] ?? 'unknown';
    const requested = carried(message.headers);
    const parent = requested ?? ROOT_CONTEXT;
    const latenessMs = Math.max(0, now.getTime() - dueAt.getTime());
    const links: Link[] = [];
    const requestedBy = requested && trace.getSpanContext(requested);
    if (requestedBy)
      links.push({ context: requestedBy, attributes: { [Attr.linkReason]: 'timeout-requested' } });
    const span = this.tracer.startSpan(
      `deliver ${type}`,
      {
        kind: SpanKind.PRODUCER,
        links,
        attributes: {
          [Attr.system]: this.system,
          [Attr.operationType]: 'send',
          [Attr.operationName]: 'deliver-timeout',
          [Attr.destination]: destination,
          [Attr.messageId]: message.messageId,
          [Attr.messageType]: type,
          [Attr.dueAt]: dueAt.toISOString(),
          [Attr.latenessMs]: latenessMs,
        },
      },
      parent,
    );
    const attributes = { [Attr.messageType]: type, [Attr.endpoint]: this.endpoint };
    await sending(span, parent, message, run);
    this.instruments.timeoutsDelivered.add(1, attributes);
    this.instruments.timeoutLateness.record(latenessMs / 1000, attributes);
  }

  /** One activity attempt: a span, its duration and its count by activity and outcome. */
  async activityAttempt<T>(
    activity: string,
    attempt: number,
    run: () => Promise<T>,
    outcomeOf: (result: T) => string,
  ): Promise<T> {
    if (!this.live) return run();
    const started = performance.now();
    return this.span(
      `activity ${activity}`,
      { [Attr.activity]: activity, [Attr.activityAttempt]: attempt },
      async (scope) => {
        let outcome = 'error';
        try {
          const result = await run();
          outcome = outcomeOf(result);
          scope.set({ [Attr.outcome]: outcome });
          if (outcome !== 'ok') scope.failed(`attempt ${attempt} ended: ${outcome}`);
          return result;
        } finally {
          const attributes = { [Attr.activity]: activity, [Attr.outcome]: outcome };
          this.instruments.activityDuration.record(ms(started), attributes);
          this.instruments.activityAttempts.add(1, attributes);
        }
      },
    );
  }

  /**
   * Registers the store-wide gauges (outbox pending and oldest age, timeouts overdue, workflow
   * instances by status); see `gauges.ts`.
   */
  observe(sources: GaugeSources): void {
    registerGauges(this.meter, this.endpoint, sources);
  }
}

/** Runs `run` with `message` carrying `span`'s context (when recorded), then ends the span. */
async function sending<T extends WithHeaders>(
  span: Span,
  parent: Context,
  message: T,
  run: (message: T) => Promise<void>,
): Promise<void> {
  try {
    await run(span.isRecording() ? carrying(message, parent, span) : message);
  } catch (error) {
    fail(span, error);
    throw error;
  } finally {
    span.end();
  }
}

function fail(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message ?? String(error) });
}
