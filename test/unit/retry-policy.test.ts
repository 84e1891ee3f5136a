import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { DEFAULT_RETRY, resolveRetryPolicy, retryDelay } from '../../src/workflows/retry.js';

describe('activity retry policy', () => {
  it('a long initial interval without a maximum is not cut to the default one minute', () => {
    const policy = resolveRetryPolicy({ initialInterval: '10m', maximumAttempts: 3 }, DEFAULT_RETRY);
    expect(policy.maximumIntervalMs).toBe(600_000);
    expect(retryDelay(policy, 2)).toBe(600_000);
  });

  it('keeps the default cap for short initial intervals, and an explicit maximum', () => {
    const short = resolveRetryPolicy({ initialInterval: '1s' }, DEFAULT_RETRY);
    expect(retryDelay(short, 10)).toBe(60_000);
    const capped = resolveRetryPolicy({ initialInterval: '1s', maximumInterval: '5s' }, DEFAULT_RETRY);
    expect(retryDelay(capped, 10)).toBe(5_000);
  });

  it('refuses a maximum shorter than the initial interval, naming the field', () => {
    expect(() =>
      resolveRetryPolicy({ initialInterval: '10m', maximumInterval: '1m' }, DEFAULT_RETRY),
    ).toThrow(ConfigurationError);
    expect(() =>
      resolveRetryPolicy({ initialInterval: '10m', maximumInterval: '1m' }, DEFAULT_RETRY),
    ).toThrow(/retry\.maximumInterval/);
  });
});
