import { type Clock } from '../util/clock.js';
import { newId } from '../util/ids.js';
import { type Logger } from '../util/logger.js';
import { type ClaimedTimeout, type TimeoutStore } from './timeout-store.js';

/** Options of {@link TimeoutScheduler}. */
export interface SchedulerOptions {
  /** Longest sleep between looks at the store (other processes may add timeouts). */
  readonly pollIntervalMs: number;
  /** Timeouts claimed per look. */
  readonly batchSize: number;
  /** How long a claim lasts; a scheduler that dies mid-delivery frees its timeouts after this. */
  readonly leaseMs: number;
}

/**
 * Turns due timeouts into messages: claims them with a lease, delivers each, then deletes it.
 * Several schedulers (processes) may run against one store; the lease keeps them apart.
 */
export class TimeoutScheduler {
  /** This scheduler's lease owner id. */
  readonly owner = `scheduler-${newId()}`;
  private abort = new AbortController();
  private wake = new AbortController();
  private loop?: Promise<void>;
  /** When the current sleep ends (ms since epoch); -Infinity while looking at the store. */
  private sleepingUntil = -Infinity;
  /** The earliest due time poked while looking, so the sleep after the look ends by then. */
  private earliestPoked = Infinity;
  /**
   * The earliest due time in the store as last read (or poked since; Infinity: none), so an idle
   * look need not ask again while it lies ahead: timeouts this process schedules lower it, those of
   * other processes are their schedulers' to deliver, and any left due by a dead one is claimed by
   * the next look.
   */
  private knownNextDue = -Infinity;

  constructor(
    private readonly store: TimeoutStore,
    private readonly deliver: (timeout: ClaimedTimeout) => Promise<void>,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: SchedulerOptions,
  ) {}

  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.loop = this.run();
  }

  /**
   * A timeout due at `dueAt` was just scheduled: look at the store by then. A look already planned
   * before `dueAt` is enough, so a timeout due in 15 minutes costs no extra look (each look is a
   * query, and on FerretDB a scan of the collection). Without `dueAt`, look now.
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
    const claimed = await this.store.claimDue(
      this.clock.now(),
      this.options.batchSize,
      this.owner,
      this.options.leaseMs,
    );
    let delivered = 0;
    for (const timeout of claimed) {
      try {
        await this.deliver(timeout);
        await this.store.complete(timeout.id, this.owner);
        delivered++;
      } catch (error) {
        // Left leased: another look after the lease expires delivers it again.
        this.logger.warn('timeout delivery failed; it will be retried when its lease expires', {
          id: timeout.id,
          error: (error as Error).message,
        });
      }
    }
    return { claimed: claimed.length, delivered };
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
        if (claimed > 0 || this.knownNextDue <= this.clock.now().getTime()) {
          this.knownNextDue = (await this.store.nextDueAt())?.getTime() ?? Infinity;
        }
        const until = this.knownNextDue - this.clock.now().getTime();
        if (until > 0) sleepMs = Math.min(sleepMs, until);
      } catch (error) {
        this.logger.error('timeout scheduler failed to read the store', { error: (error as Error).message });
      }
      if (this.abort.signal.aborted) break;
      const now = this.clock.now().getTime();
      sleepMs = Math.max(0, Math.min(sleepMs, this.earliestPoked - now));
      this.sleepingUntil = now + sleepMs;
      await this.clock.sleep(sleepMs, AbortSignal.any([this.abort.signal, this.wake.signal]));
    }
  }
}
