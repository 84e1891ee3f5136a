/**
 * Two helpers on the commit path, made faster without changing what they give: derived ids stay
 * the ids earlier versions derived (a rerun after an upgrade must reproduce the ids of messages a
 * former version sent, or the receivers' inboxes would not recognise them), and `cloneData` copies
 * as `structuredClone` does, refusing what a document store would refuse.
 */
import { describe, expect, it } from 'vitest';
import { cloneData, frozenCopy } from '../../src/util/clone.js';
import { derivedId, newToken, sagaInstanceId } from '../../src/util/ids.js';
import { TwoKeyMap } from '../../src/util/two-key-map.js';

describe('derived ids', () => {
  it('are the UUID v5 ids earlier versions derived', () => {
    expect(derivedId('m-1', 'saga:Order:x', 0)).toBe('1012f483-85e1-5716-abaf-98f13e501089');
    expect(derivedId('é', 7)).toBe('ae5762bd-d4c2-5607-b5b8-6488afb6ff17');
    expect(sagaInstanceId('Order', 'o-1')).toBe('c18c8b52-673f-5f64-9918-59af7bedb818');
  });

  it('give each saga type and correlation value its own instance id, remembered or not', () => {
    const first = Array.from({ length: 5000 }, (_, i) => sagaInstanceId('Order', `o-${i}`));
    expect(new Set(first).size).toBe(5000);
    // More than the memo holds: the early ones are derived again and come out the same.
    expect(Array.from({ length: 5000 }, (_, i) => sagaInstanceId('Order', `o-${i}`))).toEqual(first);
    expect(sagaInstanceId('Order', 'o-1')).not.toBe(sagaInstanceId('Invoice', 'o-1'));
    expect(sagaInstanceId('Order\u0000a', 'b')).toBe(derivedId('saga', 'Order\u0000a', 'b'));
  });
});

describe('cloneData', () => {
  it('copies plain data deeply, as structuredClone does', () => {
    const at = new Date('2026-12-01T05:00:00Z');
    const value = { a: 1, s: 'x', n: null, u: undefined, d: at, list: [1, { b: [at] }], big: 10n };
    const copy = cloneData(value);
    expect(copy).toEqual(structuredClone(value));
    expect(copy).not.toBe(value);
    expect(copy.list[1]).not.toBe(value.list[1]);
    expect(copy.d).not.toBe(at);
    expect(copy.d.getTime()).toBe(at.getTime());
    expect(Object.keys(copy)).toEqual(Object.keys(value));
  });

  it('hands other objects to structuredClone: class instances become plain, Maps stay Maps', () => {
    class Money {
      constructor(readonly amount: number) {}
    }
    const copy = cloneData({ price: new Money(5), index: new Map([['k', 1]]) });
    expect(Object.getPrototypeOf(copy.price)).toBe(Object.prototype);
    expect(copy.price).toEqual({ amount: 5 });
    expect(copy.index).toBeInstanceOf(Map);
    expect(copy.index.get('k')).toBe(1);
    const bare = Object.assign(Object.create(null) as object, { k: 1 });
    expect(Object.getPrototypeOf(cloneData(bare))).toBe(Object.prototype);
  });

  it('refuses functions, symbols and cycles instead of storing them', () => {
    expect(() => cloneData({ f: () => 1 })).toThrow();
    expect(() => cloneData({ s: Symbol('x') })).toThrow();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => cloneData(cyclic)).toThrow(/cyclic/);
    // Shared, not cyclic: copied once per place, as a document store would write it.
    const shared = { k: 1 };
    const copy = cloneData({ a: shared, b: shared });
    expect(copy.a).toEqual(shared);
    expect(copy.a).not.toBe(copy.b);
  });
});

describe('frozenCopy', () => {
  it('copies plain data deeply and freezes every object and array in the copy', () => {
    const at = new Date('2026-12-02T05:00:00Z');
    const value = { a: 1, list: [1, { b: [at] }], nested: { c: 'x' }, none: [] as number[] };
    const copy = frozenCopy(value);
    expect(copy).toEqual(value);
    expect(copy.list).not.toBe(value.list);
    expect(copy.list[1]).not.toBe(value.list[1]);
    for (const part of [copy, copy.list, copy.list[1], copy.nested, copy.none]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(() => {
      (copy.nested as { c: string }).c = 'y';
    }).toThrow(TypeError);
    expect(() => (copy.list as unknown[]).push(2)).toThrow(TypeError);
    // What the original goes on to do does not reach the copy.
    value.list.push(3);
    (value.nested as { c: string }).c = 'changed';
    expect(copy).toEqual({ a: 1, list: [1, { b: [at] }], nested: { c: 'x' }, none: [] });
    expect((copy.list[1] as { b: Date[] }).b[0]).not.toBe(at);
  });
});

describe('TwoKeyMap', () => {
  it('keeps one value per pair, counts them, and never mixes up pairs that join to the same text', () => {
    const map = new TwoKeyMap<number>();
    map.set('a\u0000b', 'c', 1);
    map.set('a', 'b\u0000c', 2);
    map.set('a', 'b\u0000c', 3);
    expect(map.size).toBe(2);
    expect(map.get('a\u0000b', 'c')).toBe(1);
    expect(map.get('a', 'b\u0000c')).toBe(3);
    expect(map.has('a', 'x')).toBe(false);
    expect(map.delete('a', 'x')).toBe(false);
    expect(map.delete('a', 'b\u0000c')).toBe(true);
    expect(map.size).toBe(1);
    expect([...map.values()]).toEqual([1]);
  });
});

describe('newToken', () => {
  it('never returns the same token twice', () => {
    const tokens = Array.from({ length: 10_000 }, () => newToken());
    expect(new Set(tokens).size).toBe(10_000);
  });
});
