/**
 * Runs async tasks one at a time per key, in arrival order; tasks under different keys run
 * concurrently. Process-local and advisory: it spares work (here, commit conflicts between
 * messages for one saga instance handled by one process), it never decides correctness, which
 * stays with the store's conditional writes.
 */
export class KeyedQueue {
  /**
   * Per key with a task running: the wake-ups of the tasks waiting behind it, in arrival order.
   * Removed when the running task ends with none waiting.
   */
  private readonly waiting = new Map<string, (() => void)[]>();

  /** Keys with a task waiting or running. */
  get size(): number {
    return this.waiting.size;
  }

  /** Runs `task` after every task queued before it under `key` has settled. */
  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const queue = this.waiting.get(key);
    if (queue === undefined) this.waiting.set(key, []);
    else await new Promise<void>((resolve) => queue.push(resolve));
    try {
      return await task();
    } finally {
      this.next(key);
    }
  }

  /** Wakes the task waiting next under `key`, or forgets the key when none is. */
  private next(key: string): void {
    const queue = this.waiting.get(key);
    const wake = queue?.shift();
    if (wake) wake();
    else this.waiting.delete(key);
  }
}
