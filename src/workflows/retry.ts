import { ConfigurationError } from '../errors.js';
import { toMillis } from '../util/duration.js';
import { type RetryPolicy } from './api.js';
import { type ResolvedRetryPolicy } from './messages.js';

/** The activity retry policy when nothing is configured. */
export const DEFAULT_RETRY: ResolvedRetryPolicy = {
  maximumAttempts: 3,
  initialIntervalMs: 1_000,
  backoffCoefficient: 2,
  maximumIntervalMs: 60_000,
  nonRetryableErrors: [],
};

/** Merges a policy over defaults, in milliseconds. */
export function resolveRetryPolicy(
  policy: RetryPolicy | undefined,
  defaults: ResolvedRetryPolicy,
): ResolvedRetryPolicy {
  const initialIntervalMs =
    policy?.initialInterval !== undefined
      ? toMillis(policy.initialInterval, 'retry.initialInterval')
      : defaults.initialIntervalMs;
  // Without a maximum of its own, a long initial interval raises the default cap to itself: an
  // `initialInterval: '10m'` must not be cut to the default one minute without a word.
  const maximumIntervalMs =
    policy?.maximumInterval !== undefined
      ? toMillis(policy.maximumInterval, 'retry.maximumInterval')
      : Math.max(defaults.maximumIntervalMs, initialIntervalMs);
  if (maximumIntervalMs < initialIntervalMs) {
    throw new ConfigurationError(
      'retry.maximumInterval',
      `${maximumIntervalMs} ms is shorter than retry.initialInterval (${initialIntervalMs} ms); raise it or leave it unset`,
    );
  }
  return {
    maximumAttempts: policy?.maximumAttempts ?? defaults.maximumAttempts,
    initialIntervalMs,
    backoffCoefficient: policy?.backoffCoefficient ?? defaults.backoffCoefficient,
    maximumIntervalMs,
    nonRetryableErrors: policy?.nonRetryableErrors ?? defaults.nonRetryableErrors,
  };
}

/** The wait before attempt `next` (2, 3, …). */
export function retryDelay(policy: ResolvedRetryPolicy, next: number): number {
  return Math.min(
    policy.maximumIntervalMs,
    policy.initialIntervalMs * policy.backoffCoefficient ** Math.max(0, next - 2),
  );
}
