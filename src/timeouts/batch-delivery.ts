/**
 * Delivers one claimed batch under its lease: deliveries run `concurrency` at a time, a heartbeat
 * renews the lease of every timeout not yet finished (queued or in flight) each third of the lease,
 * and a delivery starts only while this scheduler's lease is known to hold, measured on its own
 * clock from before the claim or last renewal (an interval, so the clock's offset does not matter).
 * So a slow publish never lets another scheduler re-claim the rest of the batch, and a scheduler
 * that cannot renew (the store is unreachable) stops starting deliveries before its lease ends.
 *
 * Delivered timeouts are deleted in groups, not one round trip each: `completeMany` takes every
 * delivered timeout not yet deleted once {@link COMPLETE_EVERY} have gathered and at the end of the
 * batch, one group at a time (the next gathers while one is in flight). A delivered timeout stays
 * leased (and renewed) until its group is deleted; if this process dies before that, it is
 * delivered again once its lease expires (at-least-once; the receiving inbox dedupes).
 * @internal
 */
import { type Clock } from '../util/clock.js';
import { type Logger } from '../util/logger.js';
import { type ClaimedTimeout, type TimeoutStore } from './timeout-store.js';

/** What {@link deliverBatch} needs. */
export interface BatchDelivery {
  readonly store: TimeoutStore;
  readonly owner: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly leaseMs: number;
  readonly concurrency: number;
  /** Delivers one timeout: `true` if delivered (then completed here), `false` if given back (the scheduler's part). */
  readonly deliverOne: (timeout: ClaimedTimeout) => Promise<boolean>;
}

/** Delivered timeouts deleted by one `completeMany` once this many have gathered (and at the batch's end). */
export const COMPLETE_EVERY = 100;

/**
 * Deletes delivered timeouts in groups (see the file header); `settled` is called for each id once
 * its group's delete has run (or failed).
 */
class Completions {
  private pending: string[] = [];
  private flushing?: Promise<void>;

  constructor(
    private readonly d: BatchDelivery,
    private readonly settled: (id: string) => void,
  ) {}

  add(id: string): void {
    this.pending.push(id);
    if (this.pending.length >= COMPLETE_EVERY) this.flush();
  }

  /** Deletes what has gathered (after the group in flight, if any). */
  flush(): void {
    if (this.flushing || this.pending.length === 0) return;
    const ids = this.pending;
    this.pending = [];
    this.flushing = this.d.store
      .completeMany(ids, this.d.owner)
      .then(
        () => undefined,
        (error: unknown) =>
          this.d.logger.warn(
            'delivered timeouts could not be deleted; they are delivered again when their lease expires',
            {
              count: ids.length,
              error: (error as Error).message,
            },
          ),
      )
      .finally(() => {
        for (const id of ids) this.settled(id);
        this.flushing = undefined;
        if (this.pending.length >= COMPLETE_EVERY) this.flush();
      });
  }

  /** Deletes everything gathered; resolves once no group is pending or in flight. */
  async drain(): Promise<void> {
    for (;;) {
      if (this.flushing) await this.flushing;
      else if (this.pending.length > 0) this.flush();
      else return;
    }
  }
}

/**
 * The part of a lease kept back: no delivery starts in the last fifth of it (at least 1 s), to
 * cover the store round trip that started the lease and the drift of the two clocks.
 */
export function leaseGuardMs(leaseMs: number): number {
  return Math.min(leaseMs / 2, Math.max(1000, leaseMs / 5));
}

/** Delivers `timeouts` (claimed at `claimedAt` on `clock`); resolves with how many were delivered. */
export async function deliverBatch(
  d: BatchDelivery,
  timeouts: readonly ClaimedTimeout[],
  claimedAt: number,
): Promise<number> {
  const guard = leaseGuardMs(d.leaseMs);
  let usableUntil = claimedAt + d.leaseMs - guard;
  const unfinished = new Set(timeouts.map((t) => t.id));
  const queue = [...timeouts];
  const done = new AbortController();

  const heartbeat = (async (): Promise<void> => {
    for (;;) {
      await d.clock.sleep(d.leaseMs / 3, done.signal);
      if (done.signal.aborted || unfinished.size === 0) return;
      const renewedAt = d.clock.now().getTime();
      try {
        const held = new Set(await d.store.renew([...unfinished], d.owner, d.leaseMs));
        for (const id of unfinished) if (!held.has(id)) unfinished.delete(id);
        usableUntil = renewedAt + d.leaseMs - guard;
      } catch (error) {
        d.logger.warn('timeout lease renewal failed; deliveries stop when the lease runs out', {
          error: (error as Error).message,
        });
      }
    }
  })();

  let delivered = 0;
  const completions = new Completions(d, (id) => unfinished.delete(id));
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      if (!unfinished.has(next.id)) continue; // its lease was lost
      if (d.clock.now().getTime() >= usableUntil) {
        d.logger.warn('timeout left for a later claim: this scheduler’s lease is running out', {
          id: next.id,
        });
        continue;
      }
      let ok = false;
      try {
        ok = await d.deliverOne(next);
      } finally {
        if (ok) {
          delivered++;
          completions.add(next.id); // unfinished (renewed) until deleted
        } else {
          unfinished.delete(next.id);
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(d.concurrency, timeouts.length) }, worker));
  } finally {
    await completions.drain();
    done.abort();
    await heartbeat;
  }
  return delivered;
}
