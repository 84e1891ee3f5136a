/**
 * Size limits of workflows: a payload that would not fit in a message fails the one operation that
 * carries it (never a message in the error queue and an instance waiting forever), and a history
 * that grows too large first suggests `continueAsNew`, then fails the instance before a commit
 * could hit the store's document limit.
 */
import { LonghaulError, NonRetryableError } from '../errors.js';
import { toJson } from '../messages/codec.js';
import { type Duration, toMillis } from '../util/duration.js';
import { SUGGEST_CONTINUE_AS_NEW } from './context.js';
import { type FailureInfo } from './messages.js';

/** History size thresholds of {@link WorkflowHistoryOptions}. */
export interface HistoryThreshold {
  /** Events in the current generation's history. */
  events?: number;
  /** Bytes of the history as stored. */
  bytes?: number;
}

/** History size options (`workflowOptions.history`). */
export interface WorkflowHistoryOptions {
  /**
   * Where `ctx.info.continueAsNewSuggested` turns true and a warning is logged.
   * @defaultValue `{ events: 10_000, bytes: 4 MiB }`
   */
  suggestContinueAsNew?: HistoryThreshold;
  /**
   * Past this the instance fails (code `history-too-large`) instead of growing towards the store's
   * document limit (16 MiB on MongoDB). At most 14 MiB of bytes.
   * @defaultValue `{ events: 50_000, bytes: 12 MiB }`
   */
  limit?: HistoryThreshold;
}

/** Resolved history thresholds. */
export interface ResolvedHistoryLimits {
  readonly suggest: { readonly events: number; readonly bytes: number };
  readonly limit: { readonly events: number; readonly bytes: number };
}

const MIB = 1024 * 1024;
/** The largest allowed `history.limit.bytes`: leaves room under MongoDB's 16 MiB for one more message and the rest of the record. */
export const MAX_HISTORY_BYTES = 14 * MIB;

/** Validates and completes {@link WorkflowHistoryOptions}; throws naming the bad field. */
export function resolveHistoryLimits(options: WorkflowHistoryOptions = {}): ResolvedHistoryLimits {
  const suggest = {
    events: options.suggestContinueAsNew?.events ?? SUGGEST_CONTINUE_AS_NEW.events,
    bytes: options.suggestContinueAsNew?.bytes ?? SUGGEST_CONTINUE_AS_NEW.bytes,
  };
  const limit = { events: options.limit?.events ?? 50_000, bytes: options.limit?.bytes ?? 12 * MIB };
  for (const [field, value] of [
    ['suggestContinueAsNew.events', suggest.events],
    ['suggestContinueAsNew.bytes', suggest.bytes],
    ['limit.events', limit.events],
    ['limit.bytes', limit.bytes],
  ] as const) {
    if (!Number.isInteger(value) || value < 1)
      throw new LonghaulError('invalid-option', `${field} must be a positive integer, got ${value}`);
  }
  if (limit.bytes > MAX_HISTORY_BYTES)
    throw new LonghaulError('invalid-option', `limit.bytes must be at most ${MAX_HISTORY_BYTES} (14 MiB)`);
  if (suggest.events >= limit.events || suggest.bytes >= limit.bytes)
    throw new LonghaulError(
      'invalid-option',
      'suggestContinueAsNew must be below limit, in events and bytes',
    );
  return { suggest, limit };
}

/** A duration option in milliseconds, positive. */
export function positiveMillis(value: Duration, field: string): number {
  const ms = toMillis(value, field);
  if (!(ms > 0)) throw new LonghaulError('invalid-option', `${field} must be positive`);
  return ms;
}

/**
 * A workflow payload (activity input or result, workflow input, signal payload, child result) that
 * would make a message over the endpoint's `maxBodyBytes`. The operation that carries it fails with
 * this, non-retryably; workflow code catches it as an `OperationFailedError` with code
 * `payload-too-large`.
 */
export class PayloadTooLargeError extends NonRetryableError {
  constructor(
    what: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(
      `${what} encodes to ${bytes} bytes, over the message limit of ${limit} (maxBodyBytes): store large data elsewhere and pass a reference`,
      { code: 'payload-too-large' },
    );
  }
}

/** The encoded body size of a message, as the codec will write it. */
export function bodyBytes(message: object): number {
  return Buffer.byteLength(toJson(message), 'utf8');
}

/** A {@link PayloadTooLargeError} for `message` when its body exceeds `limit`. */
export function checkSize(what: string, message: object, limit: number): PayloadTooLargeError | undefined {
  const bytes = bodyBytes(message);
  return bytes > limit ? new PayloadTooLargeError(what, bytes, limit) : undefined;
}

/** The recorded form of a {@link PayloadTooLargeError}. */
export function tooLargeFailure(error: PayloadTooLargeError): FailureInfo {
  return { name: 'PayloadTooLargeError', message: error.message, code: 'payload-too-large' };
}
