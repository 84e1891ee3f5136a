import { type Clock } from '../util/clock.js';
import { newId } from '../util/ids.js';
import { type Logger } from '../util/logger.js';
import { deliverBatch } from './batch-delivery.js';
import { type ClaimedTimeout, type TimeoutStore } from './timeout-store.js';

/** Options of {@link TimeoutScheduler}. */
export interface SchedulerOptions {
  /** Longest sleep between looks at the store (other processes may add timeouts). */
  readonly pollIntervalMs: number;
  /** Timeouts claimed per look. */
  readonly batchSize: number;
  /** How long a claim lasts; renewed while the batch is delivered, so it bounds only a dead scheduler's hold. */
  readonly leaseMs: number;
  /** Deliveries of one batch in flight at once. @defaultValue 8 */
  readonly concurrency?: number;
  /** Delivery attempts before a timeout is dead-lettered. @defaultValue 10 */
  readonly maxAttempts?: number;
  /** The delay before the first retry, doubled at each further attempt. @defaultValue 1000 (1 s) */
  readonly retryDelayMs?: number;
  /** The longest delay between retries. @defaultValue 300000 (5 min) */
  readonly maxRetryDelayMs?: number;
}

/**
 * Turns due timeouts into messages: claims a batch with a lease, delivers each (see
 * `batch-delivery.ts`), then deletes the delivered ones in groups; a failed delivery is retried with backoff and
 * dead-lettered after `maxAttempts`. Several schedulers (processes) may run against one store; the
 * lease keeps them apart. Due checks and leases use the store's clock; this scheduler's clock only
 * measures its sleeps and lease intervals.
 */
export class TimeoutScheduler {
  /** This scheduler's lease owner id. */
  readonly owner = `scheduler-${newId()}`;
  private abort = new AbortController();
  private wake = new AbortController();
  private loop?: Promise<void>;
  /** The store's time minus this scheduler's clock, as of the last claim (ms). */
  private storeOffset = 0;
  /** When the current sleep ends (store time, ms); -Infinity while looking at the store. */
  private sleepingUntil = -Infinity;
  /** The earliest due time poked while looking, so the sleep after the look ends by then. */
  private earliestPoked = Infinity;
  /**
   * The earliest time a stored timeout becomes claimable as last read (or poked since; Infinity:
   * none), so an idle look need not ask again while it lies ahead: timeouts this process schedules
   * lower it, those of other processes are their schedulers' to deliver, and any left due by a dead
   * one is claimed by the next look.
   */
  private knownNextDue = -Infinity;

  constructor(
    private readonly store: TimeoutStore,
    private readonly deliver: (timeout: ClaimedTimeout) => Promise<void>,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: SchedulerOptions,
  ) {
    // An in-memory store without a clock of its own takes this one (see InMemoryTimeoutStore).
    (store as { adoptClock?: (clock: Clock) => void }).adoptClock?.(clock);
  }

  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.loop = this.run();
  }

  /**
   * A timeout due at `dueAt` was just scheduled: look at the store by then. A look already planned
   * before `dueAt` is enough, so a timeout due in 15 minutes costs no extra look (each look is a
   * query). Without `dueAt`, look now.
   */
  poke(dueAt?: Date): void {
    const due = dueAt?.getTime() ?? -Infinity;
    if (due < this.earliestPoked) this.earliestPoked = due;
    if (due < this.knownNextDue) this.knownNextDue = due;
    if (due < this.sleepingUntil) this.wake.abort();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.wake.abort();
    await this.loop;
    this.loop = undefined;
  }

  /** Claims and delivers due timeouts once. */
  async runOnce(): Promise<{ claimed: number; delivered: number }> {
    const claimedAt = this.clock.now().getTime();
    const { timeouts, now } = await this.store.claimDue(
      this.options.batchSize,
      this.owner,
      this.options.leaseMs,
    );
    this.storeOffset = now.getTime() - claimedAt;
    if (timeouts.length === 0) return { claimed: 0, delivered: 0 };
    const delivered = await deliverBatch(
      {
        store: this.store,
        owner: this.owner,
        clock: this.clock,
        logger: this.logger,
        leaseMs: this.options.leaseMs,
        concurrency: this.options.concurrency ?? 8,
        deliverOne: (timeout) => this.deliverOne(timeout),
      },
      timeouts,
      claimedAt,
    );
    return { claimed: timeouts.length, delivered };
  }

  /**
   * Delivers one timeout (`true`: `deliverBatch` deletes it with its group), or gives it back for a
   * retry or to the dead letters (`false`).
   */
  private async deliverOne(timeout: ClaimedTimeout): Promise<boolean> {
    try {
      await this.deliver(timeout);
    } catch (error) {
      await this.giveBack(timeout, (error as Error).message ?? String(error));
      return false;
    }
    return true;
  }

  private async giveBack(timeout: ClaimedTimeout, reason: string): Promise<void> {
    const maxAttempts = this.options.maxAttempts ?? 10;
    const fields = {
      id: timeout.id,
      destination: timeout.destination,
      attempts: timeout.attempts,
      error: reason,
    };
    try {
      if (timeout.attempts >= maxAttempts) {
        await this.store.fail(timeout.id, this.owner, { reason, deadLetter: true });
        this.logger.error(
          'timeout dead-lettered: delivery failed on every attempt; replay it once fixed',
          fields,
        );
        return;
      }
      const first = this.options.retryDelayMs ?? 1000;
      const longest = this.options.maxRetryDelayMs ?? 300_000;
      const retryAfterMs = Math.min(longest, first * 2 ** Math.min(30, timeout.attempts - 1));
      await this.store.fail(timeout.id, this.owner, { reason, retryAfterMs });
      this.logger.warn('timeout delivery failed; it will be retried', { ...fields, retryAfterMs });
    } catch (error) {
      // Left leased: the next claim after the lease expires retries it (and counts the attempt).
      this.logger.warn('timeout delivery failed; it will be retried when its lease expires', {
        ...fields,
        storeError: (error as Error).message,
      });
    }
  }

  /** The store's time, as estimated from this scheduler's clock and the last claim. */
  private storeNow(): number {
    return this.clock.now().getTime() + this.storeOffset;
  }

  private async run(): Promise<void> {
    while (!this.abort.signal.aborted) {
      this.wake = new AbortController();
      this.sleepingUntil = -Infinity;
      this.earliestPoked = Infinity;
      let sleepMs = this.options.pollIntervalMs;
      try {
        const { claimed } = await this.runOnce();
        if (claimed === this.options.batchSize) continue; // a full batch: more may be due
        if (claimed > 0 || this.knownNextDue <= this.storeNow()) {
          this.knownNextDue = (await this.store.nextDueAt())?.getTime() ?? Infinity;
        }
        const until = this.knownNextDue - this.storeNow();
        if (until > 0) sleepMs = Math.min(sleepMs, until);
      } catch (error) {
        this.logger.error('timeout scheduler failed to read the store', { error: (error as Error).message });
      }
      if (this.abort.signal.aborted) break;
      const now = this.storeNow();
      sleepMs = Math.max(0, Math.min(sleepMs, this.earliestPoked - now));
      this.sleepingUntil = now + sleepMs;
      await this.clock.sleep(sleepMs, AbortSignal.any([this.abort.signal, this.wake.signal]));
    }
  }
}
