/**
 * Every error Longhaul throws derives from {@link LonghaulError}: it sets `name`, carries a stable
 * string `code` that logs and error-queue headers can match on, and an ES2022 `cause`.
 */
export class LonghaulError extends Error {
  /** A stable, machine-readable code such as `concurrency-conflict` or `decode/unknown-type`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Throw this (or a subclass) from a handler when retrying cannot help: the message goes straight to
 * the error queue, skipping immediate and delayed retries.
 */
export class NonRetryableError extends LonghaulError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'non-retryable', message, options);
  }
}

/** A conditional write lost against a concurrent one (version mismatch or duplicate key). Retryable. */
export class ConcurrencyError extends LonghaulError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('concurrency-conflict', message, options);
  }
}

/** Why an incoming message could not be decoded; each is a reason in the error queue headers. */
export type DecodeFailure =
  | 'unknown-type'
  | 'undecodable-body'
  | 'missing-field'
  | 'too-large'
  | 'forbidden-key'
  | 'invalid'
  /** A body version newer than the code knows, or older with no upcaster path to the current one. */
  | 'unsupported-version'
  /** An upcaster threw or returned something that is not an object. */
  | 'upcast-failed';

/** An incoming message that can never be handled: it goes to the error queue at once. */
export class DecodeError extends NonRetryableError {
  readonly reason: DecodeFailure;

  constructor(reason: DecodeFailure, message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: `decode/${reason}` });
    this.reason = reason;
  }
}

/** An invalid configuration, raised at start; `field` names the offending option. */
export class ConfigurationError extends LonghaulError {
  readonly field: string;

  constructor(field: string, message: string) {
    super('configuration', `Invalid configuration: ${field}: ${message}`);
    this.field = field;
  }
}

/** A message matched no saga instance and may not start one, under the `error` saga-not-found policy. */
export class SagaNotFoundError extends NonRetryableError {
  constructor(message: string) {
    super(message, { code: 'saga-not-found' });
  }
}

/** A message could not be routed: no destination configured, or the broker refused it. */
export class UnroutableError extends NonRetryableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'unroutable' });
  }
}

/** The error that matters: a wrapper that only reports a failed dispatch gives way to its cause. */
export function rootError(error: unknown): unknown {
  return error instanceof LonghaulError && error.code === 'dispatch-failed' && error.cause !== undefined
    ? rootError(error.cause)
    : error;
}

/** True when retrying the operation that threw `error` cannot help. */
export function isNonRetryable(error: unknown): boolean {
  return rootError(error) instanceof NonRetryableError;
}
