import { type SagaStore } from '../persistence/saga-store.js';
import { type Clock } from '../util/clock.js';
import { type Logger } from '../util/logger.js';
import { type OutboxDispatcher } from './outbox.js';

/** Instances read per look; a sweep looks again while looks come back full (up to `ROUNDS`). */
const BATCH = 100;
const ROUNDS = 10;

/** What one sweep did. */
export interface SweepReport {
  readonly sent: number;
  readonly failed: number;
  readonly deadLettered: number;
  /** Age in ms of the oldest entry still in any outbox after the sweep (`undefined`: none). */
  readonly oldestPendingAgeMs: number | undefined;
}

/**
 * Dispatches outbox entries whose lease or backoff has passed (left behind by a process that died,
 * or failed before), earliest due first, and deletes expired tombstones. Entries that keep failing
 * back off into the future and are dead-lettered after their last attempt, so they never hold the
 * others up.
 */
export class OutboxSweeper {
  private abort = new AbortController();
  private loop?: Promise<void>;
  /** The last sweep's report. */
  last?: SweepReport;

  constructor(
    private readonly store: SagaStore,
    private readonly outbox: OutboxDispatcher,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: { readonly intervalMs: number; readonly warnAgeMs: number },
  ) {}

  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.loop = (async () => {
      while (!this.abort.signal.aborted) {
        await this.clock.sleep(this.options.intervalMs, this.abort.signal);
        if (this.abort.signal.aborted) break;
        try {
          await this.sweepOnce();
        } catch (error) {
          this.logger.error('outbox sweep failed', { error: (error as Error).message });
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    this.loop = undefined;
  }

  /** Age in ms of the oldest entry in any instance's outbox, or `undefined` when all are empty. */
  async oldestPendingAgeMs(): Promise<number | undefined> {
    const oldest = await this.store.oldestPendingOutbox();
    return oldest === undefined ? undefined : Math.max(0, this.clock.now().getTime() - oldest.getTime());
  }

  /** One sweep; returns the number of entries dispatched (the details are in {@link OutboxSweeper.last}). */
  async sweepOnce(): Promise<number> {
    let sent = 0;
    let failed = 0;
    let deadLettered = 0;
    const seen = new Set<string>();
    for (let round = 0; round < ROUNDS; round++) {
      const due = await this.store.findDueOutbox(this.clock.now(), BATCH);
      const fresh = due.filter((r) => !seen.has(`${r.sagaType}/${r.id}`));
      for (const record of fresh) {
        seen.add(`${record.sagaType}/${record.id}`);
        try {
          const report = await this.outbox.dispatchDue(record);
          sent += report.sent;
          failed += report.failed;
          deadLettered += report.deadLettered;
        } catch (error) {
          // A store error on one instance must not stall the others.
          this.logger.error('outbox sweeper could not dispatch an instance’s entries; it will try again', {
            sagaType: record.sagaType,
            id: record.id,
            error: (error as Error).message,
          });
        }
      }
      if (due.length < BATCH || fresh.length === 0) break;
    }
    if (sent > 0) this.logger.warn('outbox sweeper dispatched entries left pending', { dispatched: sent });
    await this.store.deleteExpiredTombstones(this.clock.now());
    const oldestPendingAgeMs = await this.oldestPendingAgeMs();
    if (oldestPendingAgeMs !== undefined && oldestPendingAgeMs >= this.options.warnAgeMs) {
      this.logger.warn('outbox has an old pending entry', { oldestPendingAgeMs, failed, deadLettered });
    }
    this.last = { sent, failed, deadLettered, oldestPendingAgeMs };
    return sent;
  }
}
