import { type Duration, toMillis } from './duration.js';

/**
 * Time as Longhaul sees it. Production uses {@link systemClock}; tests and the demo use a
 * {@link VirtualClock} that only moves when told to.
 */
export interface Clock {
  now(): Date;
  /** Resolves after `ms` of this clock's time, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The wall clock. */
export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      // setTimeout fires at once past 2^31-1 ms; a long sleep wakes early, which callers tolerate.
      const timer = setTimeout(done, Math.min(ms, 0x7fffffff));
      signal?.addEventListener('abort', done, { once: true });
    }),
};

interface Sleeper {
  readonly due: number;
  readonly seq: number;
  readonly wake: () => void;
}

/** Lets pending promise reactions and I/O callbacks run. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A controllable clock: `now()` stays put until {@link VirtualClock.advance} moves it, waking the
 * sleepers that fall due, in order, one at a time.
 */
export class VirtualClock implements Clock {
  private current: number;
  private sleepers: Sleeper[] = [];
  private seq = 0;

  constructor(start: Date = new Date('2026-01-01T00:00:00.000Z')) {
    this.current = start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const sleeper: Sleeper = {
        due: this.current + Math.max(0, ms),
        seq: this.seq++,
        wake: () => {
          this.sleepers = this.sleepers.filter((s) => s !== sleeper);
          signal?.removeEventListener('abort', sleeper.wake);
          resolve();
        },
      };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', sleeper.wake, { once: true });
    });
  }

  /** Moves time forward by `by`, waking each sleeper at its due time and letting it run. */
  async advance(by: Duration): Promise<void> {
    const target = this.current + toMillis(by, 'advance');
    for (;;) {
      await yieldToEventLoop();
      const next = this.sleepers
        .filter((s) => s.due <= target)
        .sort((a, b) => a.due - b.due || a.seq - b.seq)[0];
      if (!next) break;
      this.current = Math.max(this.current, next.due);
      next.wake();
    }
    this.current = target;
    await yieldToEventLoop();
  }

  /** The number of sleepers waiting (for tests). */
  get pendingSleepers(): number {
    return this.sleepers.length;
  }
}
