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
import { type BenchRow, type Sample } from '../lib.js';
import { runLonghaulS } from '../workload-s.js';

/**
 * Runs `run` with the SDK registered as the tests register it (`test/support/otel.ts`: simple
 * processor, in-memory exporter, a reader collected on demand), loaded on first use so other rows
 * never load it, and removed after.
 */
async function withSdk(run: () => Promise<Sample>): Promise<Sample> {
  const { installTelemetry } = await import('../../test/support/otel.js');
  const otel = installTelemetry();
  try {
    const sample = await run();
    const series = new Set((await otel.points()).map((point) => point.name)).size;
    const spans = otel.exporter.getFinishedSpans().length;
    return { ...sample, extra: { ...sample.extra, spans, metrics: series } };
  } finally {
    await otel.shutdown();
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
