/**
 * The cost of tracing and metrics: workload S in memory with the OpenTelemetry SDK registered
 * (every span kept by an in-memory exporter through a simple processor, every metric through a
 * reader collected once at the end), against the same row without an SDK, where Longhaul's hooks
 * meet the API's no-op tracer and meter. `run.ts` prints the ratio
 * `S/longhaul/memory+otel-sdk ÷ S/longhaul/memory`.
 *
 * The SDK is registered as the process's globals for the run only and removed after it, so the
 * rows interleaved with it run without one.
 */
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { type BenchRow, type Sample } from '../lib.js';
import { runLonghaulS } from '../workload-s.js';

/** Runs `run` with the SDK registered (loaded on first use, so other rows never load it). */
async function withSdk(run: () => Promise<Sample>): Promise<Sample> {
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  const { W3CTraceContextPropagator } = await import('@opentelemetry/core');
  const { MeterProvider, MetricReader } = await import('@opentelemetry/sdk-metrics');
  const { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } =
    await import('@opentelemetry/sdk-trace');
  class CollectAtEnd extends MetricReader {
    protected async onForceFlush(): Promise<void> {}
    protected async onShutdown(): Promise<void> {}
  }
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const reader = new CollectAtEnd();
  const meterProvider = new MeterProvider({ readers: [reader] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  try {
    const sample = await run();
    const { resourceMetrics } = await reader.collect();
    const series = resourceMetrics.scopeMetrics.reduce((sum, s) => sum + s.metrics.length, 0);
    const spans = exporter.getFinishedSpans().length;
    return { ...sample, extra: { ...sample.extra, spans, metrics: series } };
  } finally {
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
    trace.disable();
    metrics.disable();
    propagation.disable();
    context.disable();
  }
}

export function telemetryRows(n: number, concurrency: number): BenchRow[] {
  return [
    {
      name: 'S/longhaul/memory+otel-sdk',
      description:
        'Longhaul in memory with the OpenTelemetry SDK registered (in-memory span exporter, metric reader); compare with S/longhaul/memory (no SDK)',
      run: () => withSdk(() => runLonghaulS(n, concurrency)),
    },
  ];
}
