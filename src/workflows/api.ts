import { LonghaulError } from '../errors.js';
import { type MessageClass } from '../messages/registry.js';
import { type Duration } from '../util/duration.js';
import { type ActivityRef, type WorkflowClass } from './definitions.js';
import { type FailureInfo } from './messages.js';
import {
  type EntityClass,
  type OperationInput,
  type OperationName,
  type OperationOutput,
} from '../entities/definitions.js';

/**
 * The API workflow code sees: the {@link WorkflowContext} and the errors it throws. The replaying
 * implementation is in `context.ts`.
 */
/** Retry policy of an activity call. Unset fields take the endpoint's defaults. */
export interface RetryPolicy {
  /** Attempts in all, the first included. @defaultValue 3 */
  maximumAttempts?: number;
  /** Wait before the second attempt. @defaultValue '1s' */
  initialInterval?: Duration;
  /** Each wait is the previous one times this. @defaultValue 2 */
  backoffCoefficient?: number;
  /** Longest wait between attempts; never shorter than `initialInterval`. @defaultValue '1m', or `initialInterval` when that is longer */
  maximumInterval?: Duration;
  /** Error names (`error.name`) that fail the activity at once; `NonRetryableError` always does. @defaultValue [] */
  nonRetryableErrors?: string[];
}

/** Options of {@link WorkflowContext.activity}. */
export interface ActivityOptions {
  retry?: RetryPolicy;
  /**
   * The longest one attempt may run. The worker aborts the attempt's `signal` and releases its
   * delivery when it passes, and the instance keeps a durable deadline (a timer in the timeout
   * store, counted from when the attempt is sent) that fails the attempt and retries it even when
   * the worker died. @defaultValue the endpoint's `workflowOptions.activityTimeout` ('10m'), enforced
   * by the worker only (no durable deadline unless this or `heartbeatTimeout` is set)
   */
  startToCloseTimeout?: Duration;
  /**
   * The longest time between two `context.heartbeat()` calls of an attempt (the first counts from
   * the start). Passing it fails the attempt (`ActivityTimeoutError`, `timeout: 'heartbeat'`) and
   * retries it; the next attempt gets the last heartbeat's details. Durable like
   * `startToCloseTimeout`. @defaultValue none
   */
  heartbeatTimeout?: Duration;
}

/** Options of {@link WorkflowContext.step}. */
export interface StepOptions {
  /**
   * Retries of a step that throws, with the same policy fields and defaults as activities. Between
   * attempts the instance waits on a durable timer; a wait of 50 ms or less is slept inline.
   */
  retry?: RetryPolicy;
}

/** What one attempt of a step knows about itself. */
export interface StepInfo {
  readonly name: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly workflowInstanceId: string;
}

/**
 * Thrown into a workflow where an awaited operation failed: an activity that exhausted its retries
 * or failed non-retryably, a child workflow that failed, or any operation pending when the
 * instance was cancelled (`failure.name === 'CancelledError'`).
 */
export class OperationFailedError extends LonghaulError {
  constructor(readonly failure: FailureInfo) {
    super(failure.code ?? 'operation-failed', `${failure.name}: ${failure.message}`);
  }
}

/** Replay asked for a different operation than the history holds at that position. */
export class NonDeterminismError extends LonghaulError {
  constructor(
    message: string,
    /** Where and what: the history position, what the history holds there, what the code asked for. */
    readonly details: { position?: number; recorded?: string; requested?: string } = {},
  ) {
    super('non-determinism', message);
  }
}

/**
 * Thrown into workflow code that calls a `ctx` method after its replay was suspended: `run`
 * awaited something that is not a `ctx` operation (a `fetch`, a `setTimeout`, a plain promise),
 * so its later calls reach a replay that has already been committed.
 */
export class CtxAfterSuspensionError extends LonghaulError {
  constructor(call: string) {
    super(
      'ctx-after-suspension',
      `ctx.${call} was called after the replay suspended: the workflow awaited something that is not a ctx operation; only await ctx operations in run`,
    );
  }
}

/** What a workflow knows about its own history (see {@link WorkflowContext.info}). */
export interface WorkflowInfo {
  /** Events in the history up to the current point of the replay. */
  readonly historyLength: number;
  /** Bytes of those events as stored. */
  readonly historyBytes: number;
  /** True once the history passed `workflowOptions.history.suggestContinueAsNew`: call `continueAsNew` at a convenient point. */
  readonly continueAsNewSuggested: boolean;
  /** Increments on each `continueAsNew`. */
  readonly generation: number;
}

/**
 * What `run` gets: durable operations that are recorded in the instance's history and replayed
 * from it. Only await these (and promises built from them): `run` is replayed from the top for every
 * message, so it must make the same calls in the same order each time.
 */
export interface WorkflowContext {
  readonly instanceId: string;
  readonly workflowType: string;
  /** True once a cancellation was requested; pending operations then failed with `CancelledError`. */
  readonly cancelled: boolean;
  /** Runs an activity on a worker, retried per its policy; resolves with its result. */
  activity<I, O>(activity: ActivityRef<I, O>, input: I, options?: ActivityOptions): Promise<Awaited<O>>;
  /**
   * Runs `fn` inline, in the worker that runs the workflow (no broker round trip), and makes its
   * result or error durable in the instance (one conditional write) before the workflow goes on.
   * Replay returns the recorded result without running `fn` again. `fn` runs at least once per
   * attempt (a crash before its checkpoint runs it again), so it should be idempotent; a throw is
   * retried per `options.retry`, then reaches the workflow as an {@link OperationFailedError}.
   * Use an activity instead for work that needs its own worker pool or runs long.
   * @example
   * ```ts
   * const charge = await ctx.step('charge', () => payments.charge(order.id, order.total));
   * ```
   */
  step<T>(name: string, fn: (info: StepInfo) => Promise<T> | T, options?: StepOptions): Promise<Awaited<T>>;
  /** A durable timer: resolves after `duration`, across restarts. */
  sleep(duration: Duration): Promise<void>;
  /** A durable timer until `date`. */
  sleepUntil(date: Date): Promise<void>;
  /** Waits for a signal of type `event` (raised before or after this call); `null` on timeout. */
  waitForEvent<E extends object>(event: MessageClass<E>, options?: { timeout?: Duration }): Promise<E | null>;
  /** Starts a child workflow and resolves with its result. */
  child<I, O>(workflow: WorkflowClass<I, O>, input: I, options?: { id?: string }): Promise<O>;
  /**
   * Calls an operation on an entity and waits for what it returned (recorded: replay returns the
   * recorded result). An operation that throws fails with {@link OperationFailedError}; so does an
   * entity type no route leads to (code `unroutable`). See docs/entities.md.
   */
  callEntity<E extends object, K extends OperationName<E>>(
    entity: EntityClass<E> | string,
    key: string,
    operation: K | string,
    input?: OperationInput<E, K>,
  ): Promise<OperationOutput<E, K>>;
  /**
   * Signals an operation on an entity (one way). It takes a position in the history like any
   * operation and is sent once, with the handling's commit; replay does not send it again.
   */
  signalEntity<E extends object, K extends OperationName<E>>(
    entity: EntityClass<E> | string,
    key: string,
    operation: K | string,
    input?: OperationInput<E, K>,
  ): void;
  /** Like `Promise.all`, deciding by history order when given operations. */
  all<T extends readonly unknown[] | []>(operations: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }>;
  /** Like `Promise.any`: the first operation (in history order) to succeed. */
  any<T>(operations: readonly Promise<T>[]): Promise<T>;
  /** Like `Promise.race`: the first operation (in history order) to settle. */
  race<T>(operations: readonly Promise<T>[]): Promise<T>;
  /** The time, recorded on first execution and replayed after. */
  now(): Date;
  /** A random UUID, recorded. */
  uuid(): string;
  /** A random number in [0, 1), recorded. */
  random(): number;
  /**
   * Ends this run and starts the workflow again with `input` and an empty history. Signals received
   * and not yet consumed carry over into the next run.
   */
  continueAsNew(input: unknown): never;
  /**
   * Versioning: true when this execution reaches this point with code that has the patch (a new
   * instance, or an old one whose history had not yet passed this point), false for an instance
   * whose history passed this point before the patch was deployed. A true answer is recorded in the
   * history as a marker, so every later replay agrees; the call takes no history position, so
   * adding it does not make old histories diverge.
   * @example
   * ```ts
   * if (ctx.patched('send-receipt')) await ctx.activity(SendReceipt, order);
   * ```
   */
  patched(patchId: string): boolean;
  /**
   * The cleanup step after {@link WorkflowContext.patched}, once no instance that took the old path
   * is running: the code keeps only the new path, and still records the marker where it reaches this
   * point for the first time, so a rollback to the `patched()` code keeps those instances on the new
   * path. It never changes the replay; the next deploy may remove the call.
   */
  deprecatePatch(patchId: string): void;
  /** The history's size as of this point in the replay (deterministic), and whether to continue as new. */
  readonly info: WorkflowInfo;
  /**
   * Sets searchable labels on the instance (`null` removes one), committed with the next step;
   * operators find instances by them (`longhaul instances list --label customer=c-42`). Not
   * recorded in the history: replay sets them again, so call it with values the workflow derives
   * deterministically. Keys `workflowType` and `status` are the engine's own and are refused.
   * @example
   * ```ts
   * ctx.setLabels({ customer: input.customerId });
   * ```
   */
  setLabels(labels: Readonly<Record<string, string | null>>): void;
}
