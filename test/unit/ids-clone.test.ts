/**
 * Two helpers on the commit path, made faster without changing what they give: derived ids stay
 * the ids earlier versions derived (a rerun after an upgrade must reproduce the ids of messages a
 * former version sent, or the receivers' inboxes would not recognise them), and `cloneData` copies
 * as `structuredClone` does, refusing what a document store would refuse.
 */
import { describe, expect, it } from 'vitest';
import { cloneData } from '../../src/util/clone.js';
import { derivedId, sagaInstanceId } from '../../src/util/ids.js';

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
