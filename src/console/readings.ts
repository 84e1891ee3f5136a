/**
 * The overview's slow readings (instance counts by type and status, the oldest pending outbox
 * entry), kept as a snapshot and refreshed behind the pages.
 *
 * Counting reads every instance on a store that cannot count from an index: FerretDB 1.24 decodes
 * each matching document (38 s for 100,000 on the test store). So a page is served the latest
 * snapshot, with the time it was taken; a request finding it older than
 * `max(minAgeMs, 5 × the last refresh's duration)` starts one refresh (never two at once) and waits
 * for it at most `waitMs`. On a small store the refresh ends within the wait and pages show fresh
 * counts; on a large one the store is not re-read back to back while someone watches the console.
 */
import { type InstanceCounts } from '../operations/api.js';
import { type Clock, systemClock } from '../util/clock.js';
import { type Logger } from '../util/logger.js';

/** One snapshot. */
export interface Readings {
  readonly counts: InstanceCounts;
  /** When the oldest entry still in any outbox was committed (undefined: none, or no probe). */
  readonly oldestPendingOutbox?: Date;
  /** When the snapshot was taken, on the console's clock (the one its ages and lags use). */
  readonly at: Date;
  /** How long taking it took. */
  readonly tookMs: number;
}

/** Options of {@link ReadingsCache}. */
export interface ReadingsOptions {
  /** A snapshot younger than this is served without a refresh. @defaultValue 2000 */
  readonly minAgeMs?: number;
  /** How long a request waits for a refresh it started or found running. @defaultValue 1000 */
  readonly waitMs?: number;
  /** The clock that stamps {@link Readings.at} (the demo's is virtual). @defaultValue the system clock */
  readonly clock?: Pick<Clock, 'now'>;
}

/** The snapshot and its single refresh; see the file header. */
export class ReadingsCache {
  private snapshot: Readings | undefined;
  /** When the snapshot was taken, in real time (its age decides a refresh, whatever the clock). */
  private takenAt = 0;
  private running: Promise<void> | undefined;
  private failure: unknown;
  private readonly minAgeMs: number;
  private readonly waitMs: number;
  private readonly clock: Pick<Clock, 'now'>;

  constructor(
    private readonly read: () => Promise<Omit<Readings, 'at' | 'tookMs'>>,
    private readonly logger: Logger,
    options: ReadingsOptions = {},
  ) {
    this.minAgeMs = options.minAgeMs ?? 2000;
    this.waitMs = options.waitMs ?? 1000;
    this.clock = options.clock ?? systemClock;
  }

  /** Starts a refresh if none ran yet (the server calls it at start). */
  warm(): void {
    if (!this.snapshot && !this.running) this.running = this.refresh();
  }

  /**
   * The latest snapshot after at most `waitMs` (undefined: the first is still being taken).
   * Throws the refresh's error when there is no snapshot to fall back on.
   */
  async get(): Promise<Readings | undefined> {
    const snapshot = this.snapshot;
    const age = snapshot ? Date.now() - this.takenAt : Infinity;
    if (!this.running && age > Math.max(this.minAgeMs, 5 * (snapshot?.tookMs ?? 0))) {
      this.running = this.refresh();
    }
    const running = this.running;
    if (running) {
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.waitMs);
        timer.unref();
      });
      await Promise.race([running, waited]);
      clearTimeout(timer);
    }
    if (!this.snapshot && this.failure !== undefined) throw this.failure;
    return this.snapshot;
  }

  private async refresh(): Promise<void> {
    const started = Date.now();
    try {
      const read = await this.read();
      this.takenAt = Date.now();
      this.snapshot = { ...read, at: this.clock.now(), tookMs: this.takenAt - started };
      this.failure = undefined;
    } catch (error) {
      this.failure = error;
      this.logger.warn('console: counting instances failed', { error: (error as Error).message });
    } finally {
      this.running = undefined;
    }
  }
}
