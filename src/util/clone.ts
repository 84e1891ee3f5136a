/** Deeper than this is taken for a cycle (a document store refuses both). */
const MAX_DEPTH = 500;

/**
 * A deep copy of stored data, several times faster than `structuredClone` on the small records the
 * commit path copies (its native round trip costs more than the copy itself).
 *
 * Plain objects, arrays, `Date`s and primitives are copied here; anything else (a class instance,
 * a `Map`, a typed array, a function, a symbol) is handed to `structuredClone`, so it is copied or
 * refused exactly as before. Unlike `structuredClone`, and like a document store writing the value,
 * a shared object is copied once per place it appears and a cycle is refused.
 */
export function cloneData<T>(value: T): T {
  return copy(value, 0, false) as T;
}

/**
 * A deep copy of stored data like {@link cloneData}, frozen all the way down (a `Date` cannot be
 * frozen: it is read-only by convention), for stores that hand out what they keep.
 */
export function frozenCopy<T>(value: T): T {
  return copy(value, 0, true) as T;
}

/** Every empty array {@link frozenCopy} returns: one frozen array serves them all. */
const NO_ITEMS: readonly unknown[] = Object.freeze([]);

function copy(value: unknown, depth: number, freeze: boolean): unknown {
  if (typeof value !== 'object' || value === null) {
    return typeof value === 'function' || typeof value === 'symbol' ? structuredClone(value) : value;
  }
  if (depth > MAX_DEPTH) {
    throw new TypeError(
      `The value is nested deeper than ${MAX_DEPTH} levels or is cyclic: it cannot be stored`,
    );
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto === Array.prototype) {
    const array = value as unknown[];
    if (freeze && array.length === 0) return NO_ITEMS;
    const items = new Array<unknown>(array.length);
    for (let i = 0; i < array.length; i++) items[i] = copy(array[i], depth + 1, freeze);
    return freeze ? Object.freeze(items) : items;
  }
  if (proto === Object.prototype || proto === null) {
    const fields: Record<string, unknown> = {};
    // for-in over own keys: no array of keys per object (Object.keys allocates one).
    for (const key in value) {
      if (Object.hasOwn(value, key))
        fields[key] = copy((value as Record<string, unknown>)[key], depth + 1, freeze);
    }
    return freeze ? Object.freeze(fields) : fields;
  }
  if (proto === Date.prototype) return new Date((value as Date).getTime());
  return structuredClone(value);
}
