/**
 * Runs async tasks one at a time per key, in arrival order; tasks under different keys run
 * concurrently. Process-local and advisory: it spares work (here, commit conflicts between
 * messages for one saga instance handled by one process), it never decides correctness, which
 * stays with the store's conditional writes.
 */
export class KeyedQueue {
  /** The promise each key's last queued task settles; removed when that task is the last. */
  private readonly tails = new Map<string, Promise<void>>();

  /** Tasks waiting or running, over all keys. */
  get size(): number {
    return this.tails.size;
  }

  /** Runs `task` after every task queued before it under `key` has settled. */
  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before ? before.then(() => mine) : mine;
    this.tails.set(key, tail);
    try {
      if (before) await before;
      return await task();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
