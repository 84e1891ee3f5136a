/**
 * Shared bench plumbing: a row measures one configuration; `run.ts` interleaves rows over rounds
 * (A B A B …) and reports the median and min–max of each, plus ratios between rows.
 */

/** One measured run of a row. */
export interface Sample {
  /** Messages handled per second. */
  readonly messagesPerSecond: number;
  /** Per-message handling latency percentiles in milliseconds, when the row measures them. */
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  /** Anything else worth printing (counts, sizes). */
  readonly extra?: Readonly<Record<string, number | string>>;
  /** Set when the run lost or duplicated messages: the figure is then invalid, not fast. */
  readonly invalid?: string;
}

/** One configuration under measurement. */
export interface BenchRow {
  /** Short unique name, e.g. `memory/saga` or `rabbitmq/raw`. */
  readonly name: string;
  /** What the row measures, one line. */
  readonly description: string;
  /** Rounds for this row when fewer than the run's (a row that takes minutes). @defaultValue the run's */
  readonly maxRounds?: number;
  /** Runs the workload once and reports it. */
  run(): Promise<Sample>;
}

/** The percentile `p` (0–100) of `values` (sorted copy: a typed array sorts numbers natively). */
export function percentile(values: readonly number[] | Float64Array, p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

/** The median of `values`. */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Options every row factory receives. */
export interface BenchOptions {
  /** Sagas (or messages) per run. */
  readonly n: number;
  /** Handler concurrency / prefetch. */
  readonly concurrency: number;
  /** Queue type for broker rows. */
  readonly queueType: 'classic' | 'quorum';
}
