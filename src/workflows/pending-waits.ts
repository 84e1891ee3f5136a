/**
 * The operations a run awaits that have no outcome yet. On a replay they simply stay pending; a
 * run kept in the run cache (`run-cache.ts`) is resumed instead of replayed, and then each wait
 * whose outcome the new message brought is settled here, in position order: the order in which a
 * replay from the top would resolve them.
 */
import { OperationFailedError } from './api.js';
import { type HistoryIndex } from './history.js';

/**
 * A recorded value as workflow code may use it: the in-memory store shares history items between
 * reads and keeps them frozen, so code that changes a result it got gets its own copy.
 */
export function thaw(value: unknown): unknown {
  return typeof value === 'object' && value !== null && Object.isFrozen(value)
    ? structuredClone(value)
    : value;
}

interface Waiter {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  map(value: unknown): unknown;
}

/** @internal The pending waits of one run. */
export class PendingWaits {
  private readonly waiting = new Map<number, Waiter>();
  /** Combinators (`all`, `any`, `race`) waiting for outcomes, in the order they were called. */
  private readonly combinators: {
    decide(): Promise<unknown> | undefined;
    resolve(settled: Promise<unknown>): void;
  }[] = [];

  /** A promise for the outcome of the operation at `seq`, settled by {@link PendingWaits.deliver}. */
  wait(seq: number, map: (value: unknown) => unknown): Promise<unknown> {
    const promise = new Promise<unknown>((resolve, reject) =>
      this.waiting.set(seq, { resolve, reject, map }),
    );
    promise.catch(() => {}); // an operation the workflow never awaits must not crash the process
    return promise;
  }

  /** A combinator's promise, settled as `decide` says once it says something (see `deliver`). */
  later(decide: () => Promise<unknown> | undefined): Promise<unknown> {
    const promise = new Promise<unknown>((resolve) => this.combinators.push({ decide, resolve }));
    promise.catch(() => {});
    return promise;
  }

  /** Waits not yet settled. */
  get size(): number {
    return this.waiting.size;
  }

  /**
   * Settles every wait whose operation now has an outcome in `index`, lowest position first, and
   * calls `reached` with each position settled. Returns how many were settled.
   */
  deliver(index: HistoryIndex, reached: (seq: number) => void): number {
    const ready = [...this.waiting.keys()]
      .filter((seq) => index.operations.get(seq)?.outcome !== undefined)
      .sort((a, b) => a - b);
    for (const seq of ready) {
      const waiter = this.waiting.get(seq)!;
      this.waiting.delete(seq);
      const outcome = index.operations.get(seq)!.outcome!;
      reached(seq);
      if (outcome.ok) waiter.resolve(waiter.map(thaw(outcome.value)));
      else waiter.reject(new OperationFailedError(outcome.failure!));
    }
    for (const combinator of [...this.combinators]) {
      const settled = combinator.decide();
      if (!settled) continue;
      this.combinators.splice(this.combinators.indexOf(combinator), 1);
      combinator.resolve(settled);
    }
    return ready.length;
  }
}
