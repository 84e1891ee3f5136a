/** `ctx.setLabels`: checks, merge semantics, and refusal of a workflow's own keys. */
import { describe, expect, it } from 'vitest';
import { applyLabels, checkLabels } from '../../src/sagas/context.js';

describe('labels', () => {
  it('merges a change into the stored labels; null removes one', () => {
    expect(applyLabels({ a: '1', b: '2' }, { b: null, c: '3' })).toEqual({ a: '1', c: '3' });
    expect(applyLabels(undefined, undefined)).toBeUndefined();
    expect(applyLabels(undefined, { a: null })).toBeUndefined();
    expect(applyLabels({ a: '1' }, undefined)).toEqual({ a: '1' });
  });

  it('rejects bad keys and values, naming the label', () => {
    expect(() => checkLabels({ 'bad key': 'x' })).toThrow('label key "bad key" must be 1-64');
    expect(() => checkLabels({ note: 'x'.repeat(257) })).toThrow(
      "label 'note' must be a string of at most 256",
    );
    expect(() => checkLabels({ n: 3 })).toThrow("label 'n' must be a string");
    expect(() => checkLabels(null)).toThrow('expected an object of labels');
    expect(() => checkLabels({ status: 'x' }, ['workflowType', 'status'])).toThrow(
      "label key 'status' is reserved",
    );
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
    expect(() => applyLabels({}, many)).toThrow('at most 32 labels');
  });
});
