import { LonghaulError } from '../errors.js';
import { type MessageClass, messageTypeOf } from '../messages/registry.js';
import { type Duration, toMillis } from '../util/duration.js';
import { derivedId } from '../util/ids.js';
import { type ActivityRef, activityNameOf, type WorkflowClass, workflowNameOf } from './definitions.js';
import { type HistoryIndex, type OperationKind, type OperationRecord } from './history.js';
import { type FailureInfo } from './messages.js';

/** Retry policy of an activity call. Unset fields take the endpoint's defaults. */
export interface RetryPolicy {
  /** Attempts in all, the first included. @defaultValue 3 */
  maximumAttempts?: number;
  /** Wait before the second attempt. @defaultValue '1s' */
  initialInterval?: Duration;
  /** Each wait is the previous one times this. @defaultValue 2 */
  backoffCoefficient?: number;
  /** Longest wait between attempts. @defaultValue '1m' */
  maximumInterval?: Duration;
  /** Error names (`error.name`) that fail the activity at once; `NonRetryableError` always does. @defaultValue [] */
  nonRetryableErrors?: string[];
}

/** Options of {@link WorkflowContext.activity}. */
export interface ActivityOptions {
  retry?: RetryPolicy;
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
  constructor(message: string) {
    super('non-determinism', message);
  }
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
  /** A durable timer: resolves after `duration`, across restarts. */
  sleep(duration: Duration): Promise<void>;
  /** A durable timer until `date`. */
  sleepUntil(date: Date): Promise<void>;
  /** Waits for a signal of type `event` (raised before or after this call); `null` on timeout. */
  waitForEvent<E extends object>(event: MessageClass<E>, options?: { timeout?: Duration }): Promise<E | null>;
  /** Starts a child workflow and resolves with its result. */
  child<I, O>(workflow: WorkflowClass<I, O>, input: I, options?: { id?: string }): Promise<O>;
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
  /** Ends this run and starts the workflow again with `input` and an empty history. */
  continueAsNew(input: unknown): never;
}

/** What the replay context asks of the engine when `run` reaches a new operation. */
export interface ReplayHooks {
  readonly now: Date;
  scheduleActivity(seq: number, name: string, input: unknown, options: ActivityOptions | undefined): void;
  /** Starts a timer for `seq`; returns its id. */
  startTimer(seq: number, dueAt: Date): string;
  startChild(seq: number, childId: string, type: string, input: unknown): void;
}

/** @internal Thrown by `continueAsNew`; the engine catches it. */
export class ContinueAsNew {
  constructor(readonly input: unknown) {}
}

const NEVER = new Promise<never>(() => {});

/** @internal The replaying implementation of {@link WorkflowContext}. */
export class ReplayContext implements WorkflowContext {
  private seq = 0;
  private readonly tracked = new WeakMap<Promise<unknown>, number>();
  /** Set when replay diverged from the history; the engine parks the instance. */
  nondeterminism?: NonDeterminismError;
  continueWith?: ContinueAsNew;
  readonly visited = new Set<number>();

  constructor(
    readonly instanceId: string,
    readonly workflowType: string,
    readonly generation: number,
    private readonly index: HistoryIndex,
    private readonly hooks: ReplayHooks,
  ) {}

  get cancelled(): boolean {
    return this.index.cancelRequested;
  }

  activity<I, O>(activity: ActivityRef<I, O>, input: I, options?: ActivityOptions): Promise<Awaited<O>> {
    const name = activityNameOf(activity);
    return this.operation('activity', name, (seq) => {
      this.hooks.scheduleActivity(seq, name, input, options);
      return {};
    }) as Promise<Awaited<O>>;
  }

  sleep(duration: Duration): Promise<void> {
    return this.sleepUntil(new Date(this.hooks.now.getTime() + toMillis(duration, 'sleep')));
  }

  sleepUntil(date: Date): Promise<void> {
    return this.operation('sleep', 'timer', (seq) => ({
      timerId: this.hooks.startTimer(seq, date),
    })) as Promise<void>;
  }

  waitForEvent<E extends object>(
    event: MessageClass<E>,
    options: { timeout?: Duration } = {},
  ): Promise<E | null> {
    const type = messageTypeOf(event);
    return this.operation(
      'event',
      type.name,
      (seq) => {
        const buffered = this.index.unconsumedSignal(type.name);
        if (buffered) {
          return { completeWith: { value: buffered.payload, signal: buffered.id } };
        }
        if (options.timeout === undefined) return {};
        const due = new Date(this.hooks.now.getTime() + toMillis(options.timeout, 'timeout'));
        return { timerId: this.hooks.startTimer(seq, due) };
      },
      (value) =>
        value === null || value === undefined
          ? null
          : (Object.assign(Object.create(type.ctor.prototype as object), value) as E),
    ) as Promise<E | null>;
  }

  child<I, O>(workflow: WorkflowClass<I, O>, input: I, options: { id?: string } = {}): Promise<O> {
    const type = workflowNameOf(workflow);
    return this.operation('child', type, (seq) => {
      const childId = options.id ?? derivedId(this.instanceId, this.generation, 'child', seq);
      this.hooks.startChild(seq, childId, type, input);
      return { childId };
    }) as Promise<O>;
  }

  all<T extends readonly unknown[] | []>(
    operations: T,
  ): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
    const records = this.recordsOf(operations as readonly unknown[]);
    if (!records) return Promise.all(operations) as Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }>;
    const failed = records
      .filter((r) => r.outcome && !r.outcome.ok)
      .sort((a, b) => a.outcome!.index - b.outcome!.index);
    if (failed[0]) return Promise.reject(new OperationFailedError(failed[0].outcome!.failure!));
    if (records.every((r) => r.outcome)) {
      return Promise.all(operations) as Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }>;
    }
    return NEVER;
  }

  any<T>(operations: readonly Promise<T>[]): Promise<T> {
    const records = this.recordsOf(operations);
    if (!records) return Promise.any(operations);
    const won = records.filter((r) => r.outcome?.ok).sort((a, b) => a.outcome!.index - b.outcome!.index)[0];
    if (won) return operations[records.indexOf(won)] as Promise<T>;
    if (records.every((r) => r.outcome)) return Promise.any(operations);
    return NEVER;
  }

  race<T>(operations: readonly Promise<T>[]): Promise<T> {
    const records = this.recordsOf(operations);
    if (!records) return Promise.race(operations);
    const first = records.filter((r) => r.outcome).sort((a, b) => a.outcome!.index - b.outcome!.index)[0];
    return first ? (operations[records.indexOf(first)] as Promise<T>) : NEVER;
  }

  now(): Date {
    return new Date(this.record('now', () => this.hooks.now.getTime()) as number);
  }

  uuid(): string {
    return this.record('uuid', () => crypto.randomUUID()) as string;
  }

  random(): number {
    return this.record('random', () => Math.random()) as number;
  }

  continueAsNew(input: unknown): never {
    this.continueWith = new ContinueAsNew(input);
    throw this.continueWith;
  }

  private record(op: 'now' | 'uuid' | 'random', make: () => unknown): unknown {
    const seq = this.seq++;
    this.visited.add(seq);
    const known = this.index.recorded.get(seq);
    if (known) {
      if (known.op !== op) this.diverged(seq, `${known.op}()`, `${op}()`);
      return known.value;
    }
    if (this.index.operations.has(seq))
      this.diverged(seq, this.describe(this.index.operations.get(seq)!), `${op}()`);
    const value = make();
    this.index.append({ e: 'recorded', seq, op, value });
    return value;
  }

  /**
   * The core of replay: the operation at this position either is in the history (resolve with its
   * outcome, or stay pending) or is new (schedule it, and record that in the history).
   */
  private operation(
    op: OperationKind,
    name: string,
    schedule: (seq: number) => {
      timerId?: string;
      childId?: string;
      completeWith?: { value: unknown; signal: string };
    },
    map: (value: unknown) => unknown = (value) => value,
  ): Promise<unknown> {
    const seq = this.seq++;
    this.visited.add(seq);
    const known = this.index.operations.get(seq);
    if (known) {
      if (known.op !== op || known.name !== name) this.diverged(seq, this.describe(known), `${op} '${name}'`);
    } else if (this.index.recorded.has(seq)) {
      this.diverged(seq, `${this.index.recorded.get(seq)!.op}()`, `${op} '${name}'`);
    } else if (!this.nondeterminism) {
      const scheduled = schedule(seq);
      const at = this.hooks.now;
      this.index.append({
        e: 'scheduled',
        seq,
        op,
        name,
        at,
        timerId: scheduled.timerId,
        childId: scheduled.childId,
      });
      if (scheduled.completeWith) {
        this.index.append({
          e: 'completed',
          seq,
          at,
          value: scheduled.completeWith.value,
          signal: scheduled.completeWith.signal,
        });
      }
    }
    const record = this.index.operations.get(seq);
    const promise =
      this.nondeterminism || !record?.outcome ? new Promise<never>(() => {}) : settle(record, map);
    this.tracked.set(promise, seq);
    return promise;
  }

  private recordsOf(operations: readonly unknown[]): OperationRecord[] | undefined {
    const records: OperationRecord[] = [];
    for (const operation of operations) {
      const seq = operation instanceof Promise ? this.tracked.get(operation) : undefined;
      const record = seq === undefined ? undefined : this.index.operations.get(seq);
      if (!record) return undefined;
      records.push(record);
    }
    return records;
  }

  private describe(record: OperationRecord): string {
    return `${record.op} '${record.name}'`;
  }

  private diverged(seq: number, recorded: string, requested: string): void {
    this.nondeterminism ??= new NonDeterminismError(
      `History position ${seq} holds ${recorded}, but the code now asks for ${requested}: the workflow's code changed under a running instance`,
    );
  }
}

function settle(record: OperationRecord, map: (value: unknown) => unknown): Promise<unknown> {
  const outcome = record.outcome!;
  if (outcome.ok) return Promise.resolve(map(outcome.value));
  const failed = Promise.reject(new OperationFailedError(outcome.failure!));
  failed.catch(() => {}); // an operation the workflow never awaits must not crash the process
  return failed;
}
