/**
 * The real OpenTelemetry SDK for tests: a tracer provider with an in-memory span exporter, a meter
 * provider with a metric reader collected on demand, the AsyncLocalStorage context manager and
 * the W3C propagator, all registered as the process's globals (each test file runs in its own
 * worker, so one file's globals are its own).
 */
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, MetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';

/** A reader that collects only when asked. */
export class OnDemandReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/** A finished span reduced to what the assertions (and the two-process files) use. */
export interface SpanRecord {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  status: number;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string; attributes: Record<string, unknown> }[];
  events: string[];
  process?: string;
}

export function recordOf(span: ReadableSpan, process?: string): SpanRecord {
  return {
    name: span.name,
    kind: span.kind,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    ...(span.parentSpanContext ? { parentSpanId: span.parentSpanContext.spanId } : {}),
    status: span.status.code,
    attributes: { ...span.attributes },
    links: span.links.map((l) => ({
      traceId: l.context.traceId,
      spanId: l.context.spanId,
      attributes: { ...l.attributes },
    })),
    events: span.events.map((e) => e.name),
    ...(process !== undefined ? { process } : {}),
  };
}

/** One collected metric point: a counter's sum, a gauge's value, or a histogram's count. */
export interface PointRecord {
  name: string;
  attributes: Record<string, unknown>;
  value: number;
}

/** The sum of the points named `name` whose attributes include `where`. */
export function sumOf(
  points: readonly PointRecord[],
  name: string,
  where: Record<string, unknown> = {},
): number {
  return points
    .filter((p) => p.name === name && Object.entries(where).every(([k, v]) => p.attributes[k] === v))
    .reduce((sum, p) => sum + p.value, 0);
}

/** Every metric point `reader` collects now. */
export async function pointsOf(reader: MetricReader): Promise<PointRecord[]> {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics.flatMap((scope) =>
    scope.metrics.flatMap((m) =>
      (m.dataPoints as DataPoint<unknown>[]).map((point) => {
        const value = point.value as number | { count: number };
        return {
          name: m.descriptor.name,
          attributes: { ...point.attributes },
          value: typeof value === 'number' ? value : value.count,
        };
      }),
    ),
  );
}

export interface TestTelemetry {
  readonly exporter: InMemorySpanExporter;
  spans(): SpanRecord[];
  /** Every metric point collected now. */
  points(): Promise<PointRecord[]>;
  /** The sum of a counter's (or a histogram's count of) points whose attributes include `where`. */
  metric(name: string, where?: Record<string, unknown>): Promise<number>;
  shutdown(): Promise<void>;
}

/** Registers the SDK globally; call once per test file (or worker process). */
export function installTelemetry(onEnd?: (span: ReadableSpan) => void): TestTelemetry {
  const exporter = new InMemorySpanExporter();
  const processors = [new SimpleSpanProcessor({ exporter })];
  if (onEnd) {
    processors.push(
      new SimpleSpanProcessor({
        exporter: {
          export: (spans, done) => {
            spans.forEach(onEnd);
            done({ code: 0 });
          },
          shutdown: async () => {},
        },
      }),
    );
  }
  const tracerProvider = new TracerProvider({ spanProcessors: processors });
  const reader = new OnDemandReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  const points = (): Promise<PointRecord[]> => pointsOf(reader);
  return {
    exporter,
    spans: () => exporter.getFinishedSpans().map((s) => recordOf(s)),
    points,
    metric: async (name, where = {}) => sumOf(await points(), name, where),
    shutdown: async () => {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
      trace.disable();
      metrics.disable();
      propagation.disable();
      context.disable();
    },
  };
}
