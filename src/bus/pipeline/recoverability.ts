import { DecodeError, isNonRetryable, LonghaulError, rootError } from '../../errors.js';
import { Headers } from '../../messages/envelope.js';
import { type Disposition } from '../transport.js';

/** Retry settings, already validated and in milliseconds. */
export interface RecoverabilityPolicy {
  /** Extra in-process attempts right after a failure. */
  readonly immediateRetries: number;
  /** Waits before each delayed retry; its length is the number of delayed retries. */
  readonly delaysMs: readonly number[];
}

/** The error-queue headers describing why a message failed. */
export function errorHeaders(
  thrown: unknown,
  attempts: number,
  source: string,
  now: Date,
): Record<string, string> {
  const error = rootError(thrown);
  const err = error instanceof Error ? error : new Error(String(error));
  const reason =
    error instanceof DecodeError ? error.code : error instanceof LonghaulError ? error.code : 'handler-error';
  return {
    [Headers.errorReason]: reason,
    [Headers.errorMessage]: `${err.name}: ${err.message}`.slice(0, 4096),
    [Headers.errorStack]: (err.stack ?? '').slice(0, 16384),
    [Headers.errorAttempts]: String(attempts),
    [Headers.errorSource]: source,
    [Headers.errorTime]: now.toISOString(),
  };
}

/** Delayed retries already made, from the message headers. */
export function delayedRetriesOf(headers: Readonly<Record<string, string>>): number {
  const value = Number.parseInt(headers[Headers.delayedRetries] ?? '0', 10);
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/** What follows a failed attempt: another attempt now, a delayed retry, or the error queue. */
export type NextStep = 'immediate-retry' | 'delayed-retry' | 'error-queue';

/** The disposition of a handled message (one object: it carries nothing of its own). */
export const ACK: Disposition = Object.freeze({ kind: 'ack' });

/**
 * Runs `attempt` with immediate retries, then answers with a delayed retry or the error queue:
 * a {@link NonRetryableError} (and a decode failure) goes to the error queue at once.
 *
 * `firstFailure`: the first attempt already ran and threw this (a caller that makes the first
 * attempt itself, so a message that succeeds at once costs no callbacks).
 */
export async function withRecoverability(
  policy: RecoverabilityPolicy,
  headers: Readonly<Record<string, string>>,
  source: string,
  now: () => Date,
  attempt: () => Promise<void>,
  onFailure: (error: unknown, attempt: number, next: NextStep) => void,
  firstFailure?: { readonly error: unknown },
): Promise<Disposition> {
  const delayed = delayedRetriesOf(headers);
  const before = delayed * (policy.immediateRetries + 1);
  for (let run = 1; ; run++) {
    try {
      if (run === 1 && firstFailure) throw firstFailure.error;
      await attempt();
      return ACK;
    } catch (error) {
      if (isNonRetryable(error)) {
        onFailure(error, before + run, 'error-queue');
        return { kind: 'error', headers: errorHeaders(error, before + run, source, now()) };
      }
      if (run <= policy.immediateRetries) {
        onFailure(error, before + run, 'immediate-retry');
        continue;
      }
      const delayMs = policy.delaysMs[delayed];
      if (delayMs !== undefined) {
        onFailure(error, before + run, 'delayed-retry');
        return { kind: 'retry', delayMs, headers: { [Headers.delayedRetries]: String(delayed + 1) } };
      }
      onFailure(error, before + run, 'error-queue');
      return { kind: 'error', headers: errorHeaders(error, before + run, source, now()) };
    }
  }
}
