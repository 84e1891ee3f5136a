/**
 * Delivers one claimed batch under its lease: deliveries run `concurrency` at a time, a heartbeat
 * renews the lease of every timeout not yet finished (queued or in flight) each third of the lease,
 * and a delivery starts only while this scheduler's lease is known to hold, measured on its own
 * clock from before the claim or last renewal (an interval, so the clock's offset does not matter).
 * So a slow publish never lets another scheduler re-claim the rest of the batch, and a scheduler
 * that cannot renew (the store is unreachable) stops starting deliveries before its lease ends.
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
  /** Delivers one timeout, then completes it or gives it back (the scheduler's part). */
  readonly deliverOne: (timeout: ClaimedTimeout) => Promise<boolean>;
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
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      if (!unfinished.has(next.id)) continue; // its lease was lost
      if (d.clock.now().getTime() >= usableUntil) {
        d.logger.warn('timeout left for a later claim: this scheduler’s lease is running out', {
          id: next.id,
        });
        continue;
      }
      try {
        if (await d.deliverOne(next)) delivered++;
      } finally {
        unfinished.delete(next.id);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(d.concurrency, timeouts.length) }, worker));
  } finally {
    done.abort();
    await heartbeat;
  }
  return delivered;
}
