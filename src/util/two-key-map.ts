/**
 * A map keyed by a pair of strings (a saga type and an id, say), held as a map per first key: a
 * lookup hashes the two strings as they are, where one map under a joined key would build and
 * hash a new string on every lookup.
 */
export class TwoKeyMap<V> {
  private readonly maps = new Map<string, Map<string, V>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(a: string, b: string): V | undefined {
    return this.maps.get(a)?.get(b);
  }

  has(a: string, b: string): boolean {
    return this.maps.get(a)?.has(b) ?? false;
  }

  set(a: string, b: string, value: V): void {
    let inner = this.maps.get(a);
    if (!inner) this.maps.set(a, (inner = new Map()));
    const size = inner.size;
    inner.set(b, value);
    this.count += inner.size - size;
  }

  delete(a: string, b: string): boolean {
    const inner = this.maps.get(a);
    if (!inner?.delete(b)) return false;
    this.count--;
    if (inner.size === 0) this.maps.delete(a);
    return true;
  }

  *values(): IterableIterator<V> {
    for (const inner of this.maps.values()) yield* inner.values();
  }
}
