import { type MessageClass, messageTypeOf } from '../messages/registry.js';
import { type Duration, toMillis } from '../util/duration.js';
import { derivedId } from '../util/ids.js';
import { checkLabels } from '../sagas/context.js';
import { type ActivityRef, activityNameOf, type WorkflowClass, workflowNameOf } from './definitions.js';
import { LonghaulError } from '../errors.js';
import { type StepHooks, StepRunner } from './step-runner.js';
import { PendingWaits, thaw } from './pending-waits.js';
import {
  type ActivityOptions,
  type StepInfo,
  type StepOptions,
  CtxAfterSuspensionError,
  NonDeterminismError,
  OperationFailedError,
  type WorkflowContext,
  type WorkflowInfo,
} from './api.js';
import { type FailureInfo } from './messages.js';
import {
  checkEntityKey,
  checkOperationName,
  type EntityClass,
  entityNameOf,
} from '../entities/definitions.js';
import { eventBytes, type HistoryIndex, type OperationKind, type OperationRecord } from './history.js';

export { type StepHooks, INLINE_RETRY_MS } from './step-runner.js';
export {
  type RetryPolicy,
  type StepOptions,
  type StepInfo,
  type ActivityOptions,
  type WorkflowContext,
  type WorkflowInfo,
  OperationFailedError,
  NonDeterminismError,
  CtxAfterSuspensionError,
} from './api.js';

/** What the replay context asks of the engine when `run` reaches a new operation. */
export interface ReplayHooks {
  readonly now: Date;
  /** Schedules an activity; a returned failure (e.g. `payload-too-large`) fails the operation at once. */
  scheduleActivity(
    seq: number,
    name: string,
    input: unknown,
    options: ActivityOptions | undefined,
  ): void | { failure: FailureInfo };
  /** Starts a timer for `seq`; returns its id. */
  startTimer(seq: number, dueAt: Date): string;
  /** Starts a child; a returned failure fails the operation at once. */
  startChild(seq: number, childId: string, type: string, input: unknown): void | { failure: FailureInfo };
  /**
   * Sends an entity operation (`call`: the entity replies with an `OperationResult` for `seq`); a
   * returned failure fails the operation at once. Absent in replay checks: nothing is sent.
   */
  entityOperation?(
    seq: number,
    entityType: string,
    key: string,
    operation: string,
    input: unknown,
    call: boolean,
  ): void | { failure: FailureInfo };
  /** The instance's reset count (child ids include it once non-zero). @defaultValue 0 */
  readonly epoch?: number;
  /** When `ctx.info.continueAsNewSuggested` turns true. @defaultValue 10,000 events or 4 MiB */
  readonly suggestContinueAsNew?: { readonly events: number; readonly bytes: number };
  /** Told when workflow code calls `ctx` after the replay suspended. */
  onLateCall?(call: string): void;
  /** Takes label changes (`ctx.setLabels`); absent where labels are not kept (replay checks). */
  setLabels?(labels: Readonly<Record<string, string | null>>): void;
  /**
   * What running steps needs. Absent in replay tests: a step the history does not hold then only
   * shows as a new operation, and `fn` never runs.
   */
  readonly steps?: StepHooks;
}

/** The default of {@link ReplayHooks.suggestContinueAsNew}. */
export const SUGGEST_CONTINUE_AS_NEW = { events: 10_000, bytes: 4 * 1024 * 1024 } as const;

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
  /** A step waits for its retry timer: `run` may legitimately be suspended on it. */
  private waitsOnStep = false;
  /**
   * False once the run waits on something a resume cannot settle (a step's retry timer, a
   * combinator over pending operations): the run cache then replays it instead.
   */
  resumable = true;
  /** Set when `run` called `ctx` while suspended (it awaited something else): never resumed. */
  tainted = false;
  /** The last `ctx` operation run reached, for messages. */
  lastCall?: string;
  private readonly waits = new PendingWaits();
  private closed = false;
  private reached = 0;
  private prefixBytes?: { upTo: number; bytes: number };
  private readonly patchAnswers = new Map<string, boolean>();
  /** Steps running now; the engine waits for them before it decides the replay is suspended. */
  private readonly inFlight: Promise<void>[] = [];
  private stepRunner?: StepRunner;

  constructor(
    readonly instanceId: string,
    readonly workflowType: string,
    readonly generation: number,
    private readonly index: HistoryIndex,
    private hooks: ReplayHooks,
  ) {}

  /** True once a visited operation has no outcome yet: `run` may legitimately be suspended on it. */
  get waitsOnPending(): boolean {
    return this.waitsOnStep || this.waits.size > 0;
  }

  /**
   * Reopens a suspended run for the next message (the run cache): its hooks now act for that
   * message's handling. Then {@link ReplayContext.deliver} settles what the message brought.
   */
  rebind(hooks: ReplayHooks): void {
    this.hooks = hooks;
    this.stepRunner = undefined;
    this.closed = false;
  }

  /** Settles the pending operations whose outcomes are now in the history; returns how many. */
  deliver(): number {
    return this.waits.deliver(this.index, (seq) => this.reach(seq));
  }

  get cancelled(): boolean {
    return this.index.cancelRequested;
  }

  get info(): WorkflowInfo {
    const historyLength = this.reached;
    if (!this.prefixBytes || this.prefixBytes.upTo > historyLength) this.prefixBytes = { upTo: 0, bytes: 0 };
    for (let i = this.prefixBytes.upTo; i < historyLength; i++) {
      this.prefixBytes.bytes += eventBytes(this.index.history[i]!);
    }
    this.prefixBytes.upTo = historyLength;
    const historyBytes = this.prefixBytes.bytes;
    const limits = this.hooks.suggestContinueAsNew ?? SUGGEST_CONTINUE_AS_NEW;
    return {
      historyLength,
      historyBytes,
      continueAsNewSuggested: historyLength >= limits.events || historyBytes >= limits.bytes,
      generation: this.generation,
    };
  }

  /** Ends this replay: a later `ctx` call means `run` awaited something else, and throws. */
  close(): void {
    this.closed = true;
  }

  /** An engine error while running a step (a failed checkpoint): the handling fails with it. */
  get stepError(): unknown {
    return this.stepRunner?.error;
  }

  /** The steps started since the last call, to wait for (they never reject). */
  takeInFlight(): Promise<void>[] {
    return this.inFlight.splice(0);
  }

  /** The lowest history position this replay did not reach (the code finished before it), if any. */
  unreached(): number | undefined {
    return this.index.maxSeq >= this.seq ? this.seq : undefined;
  }

  setLabels(labels: Readonly<Record<string, string | null>>): void {
    this.open('setLabels');
    checkLabels(labels, ['workflowType', 'status']);
    this.hooks.setLabels?.(labels);
  }

  patched(patchId: string): boolean {
    this.open(`patched('${patchId}')`);
    const answered = this.patchAnswers.get(patchId);
    if (answered !== undefined) return answered;
    let answer: boolean;
    if (this.index.patches.has(patchId)) answer = true;
    else if (this.index.maxSeq >= this.seq)
      answer = false; // the history passed this point without it
    else {
      if (!this.nondeterminism) this.mark(patchId, false);
      answer = true;
    }
    this.patchAnswers.set(patchId, answer);
    return answer;
  }

  deprecatePatch(patchId: string): void {
    this.open(`deprecatePatch('${patchId}')`);
    if (this.index.patches.has(patchId) || this.patchAnswers.has(patchId)) return;
    this.patchAnswers.set(patchId, true);
    // At the frontier, the marker keeps a rollback to the `patched()` code on the new path. Where the
    // history already passed this point, nothing is recorded: like a removed patch.
    if (this.index.maxSeq < this.seq && !this.nondeterminism) this.mark(patchId, true);
  }

  private mark(patchId: string, deprecated: boolean): void {
    this.index.append({
      e: 'marker',
      patch: patchId,
      seq: this.seq,
      at: this.hooks.now,
      ...(deprecated ? { deprecated } : {}),
    });
    this.reached = this.index.history.length;
  }

  private open(call: string): void {
    if (!this.closed) return;
    this.tainted = true;
    this.hooks.onLateCall?.(call);
    throw new CtxAfterSuspensionError(call);
  }

  activity<I, O>(activity: ActivityRef<I, O>, input: I, options?: ActivityOptions): Promise<Awaited<O>> {
    const name = activityNameOf(activity);
    return this.operation('activity', name, (seq) => {
      const refused = this.hooks.scheduleActivity(seq, name, input, options);
      return refused ? { failWith: refused.failure } : {};
    }) as Promise<Awaited<O>>;
  }

  step<T>(name: string, fn: (info: StepInfo) => Promise<T> | T, options?: StepOptions): Promise<Awaited<T>> {
    if (typeof name !== 'string' || !/^.{1,200}$/su.test(name))
      throw new LonghaulError('invalid-step', 'ctx.step: name must be a string of 1 to 200 characters');
    if (typeof fn !== 'function')
      throw new LonghaulError('invalid-step', `ctx.step('${name}'): fn must be a function`);
    this.open(`step('${name}')`);
    const seq = this.seq++;
    this.visited.add(seq);
    this.lastCall = `step '${name}' at position ${seq}`;
    const known = this.index.operations.get(seq);
    if (known) {
      if (known.op !== 'step' || known.name !== name)
        this.diverged(seq, this.describe(known), `step '${name}'`);
    } else if (this.index.recorded.has(seq)) {
      this.diverged(seq, `${this.index.recorded.get(seq)!.op}()`, `step '${name}'`);
    }
    let promise: Promise<unknown>;
    if (this.nondeterminism) {
      promise = new Promise<never>(() => {});
    } else if (known?.outcome) {
      this.reach(seq);
      promise = settle(known, (value) => value);
    } else if ((known && !known.retryDue) || !this.hooks.steps) {
      // Waiting for its retry timer; or a replay test, where a new step only shows as new.
      if (!known) this.index.append({ e: 'scheduled', seq, op: 'step', name, at: this.hooks.now });
      this.reach(seq);
      this.waitsOnStep = true;
      this.resumable = false;
      promise = new Promise<never>(() => {});
    } else {
      // Not `waitsOnPending` while it runs: the engine waits for running steps before it decides.
      this.stepRunner ??= new StepRunner(this.index, this.hooks, this.hooks.steps, this.instanceId);
      const done = this.stepRunner.run(seq, name, fn, (known?.attempts ?? 0) + 1, !known, options);
      this.inFlight.push(done);
      promise = done.then(() => {
        const record = this.index.operations.get(seq);
        this.reach(seq);
        if (!record?.outcome) {
          this.waitsOnStep = true; // waiting for its retry timer
          this.resumable = false;
        }
        return record?.outcome && this.stepError === undefined
          ? settle(record, (value) => value)
          : new Promise<never>(() => {});
      });
    }
    this.tracked.set(promise, seq);
    return promise as Promise<Awaited<T>>;
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
      const epoch = this.hooks.epoch ?? 0;
      const childId =
        options.id ??
        (epoch === 0
          ? derivedId(this.instanceId, this.generation, 'child', seq)
          : derivedId(this.instanceId, this.generation, epoch, 'child', seq));
      const refused = this.hooks.startChild(seq, childId, type, input);
      return refused ? { childId, failWith: refused.failure } : { childId };
    }) as Promise<O>;
  }

  callEntity(entity: EntityClass | string, key: string, operation: string, input?: unknown): Promise<any> {
    const type = entityNameOf(entity);
    checkEntityKey(key);
    checkOperationName(operation);
    return this.operation('entity', `${type}.${operation}`, (seq) => {
      const refused = this.hooks.entityOperation?.(seq, type, key, operation, input, true);
      return refused ? { failWith: refused.failure } : {};
    });
  }

  signalEntity(entity: EntityClass | string, key: string, operation: string, input?: unknown): void {
    const type = entityNameOf(entity);
    checkEntityKey(key);
    checkOperationName(operation);
    void this.operation('entity', `${type}.${operation}`, (seq) => {
      const refused = this.hooks.entityOperation?.(seq, type, key, operation, input, false);
      // One way: done once sent (committed with this handling), unless it could not be sent.
      return refused ? { failWith: refused.failure } : { completeWith: { value: null } };
    }).catch(() => {});
  }

  all<T extends readonly unknown[] | []>(
    operations: T,
  ): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
    type All = Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }>;
    const records = this.recordsOf(operations as readonly unknown[]);
    if (!records) return Promise.all(operations) as All;
    return this.decide(() => {
      const failed = records
        .filter((r) => r.outcome && !r.outcome.ok)
        .sort((a, b) => a.outcome!.index - b.outcome!.index);
      if (failed[0]) return Promise.reject(new OperationFailedError(failed[0].outcome!.failure!));
      return records.every((r) => r.outcome) ? Promise.all(operations) : undefined;
    }) as All;
  }

  any<T>(operations: readonly Promise<T>[]): Promise<T> {
    const records = this.recordsOf(operations);
    if (!records) return Promise.any(operations);
    return this.decide(() => {
      const won = records.filter((r) => r.outcome?.ok).sort((a, b) => a.outcome!.index - b.outcome!.index)[0];
      if (won) return operations[records.indexOf(won)];
      return records.every((r) => r.outcome) ? Promise.any(operations) : undefined;
    }) as Promise<T>;
  }

  race<T>(operations: readonly Promise<T>[]): Promise<T> {
    const records = this.recordsOf(operations);
    if (!records) return Promise.race(operations);
    return this.decide(() => {
      const first = records.filter((r) => r.outcome).sort((a, b) => a.outcome!.index - b.outcome!.index)[0];
      return first ? operations[records.indexOf(first)] : undefined;
    }) as Promise<T>;
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
    this.open('continueAsNew');
    this.continueWith = new ContinueAsNew(input);
    throw this.continueWith;
  }

  private record(op: 'now' | 'uuid' | 'random', make: () => unknown): unknown {
    this.open(`${op}()`);
    const seq = this.seq++;
    this.visited.add(seq);
    this.lastCall = `${op}() at position ${seq}`;
    const known = this.index.recorded.get(seq);
    if (known) {
      if (known.op !== op) this.diverged(seq, `${known.op}()`, `${op}()`);
      this.reach(seq);
      return known.value;
    }
    if (this.index.operations.has(seq))
      this.diverged(seq, this.describe(this.index.operations.get(seq)!), `${op}()`);
    const value = make();
    if (!this.nondeterminism) this.index.append({ e: 'recorded', seq, op, value });
    this.reach(seq);
    return value;
  }

  private reach(seq: number): void {
    const at = this.index.positions.get(seq);
    if (at !== undefined) this.reached = Math.max(this.reached, at + 1);
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
      completeWith?: { value: unknown; signal?: string };
      failWith?: FailureInfo;
    },
    map: (value: unknown) => unknown = (value) => value,
  ): Promise<unknown> {
    this.open(op === 'sleep' ? 'sleep' : `${op}('${name}')`);
    const seq = this.seq++;
    this.visited.add(seq);
    this.lastCall = `${op} '${name}' at position ${seq}`;
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
          ...(scheduled.completeWith.signal !== undefined ? { signal: scheduled.completeWith.signal } : {}),
        });
      }
      if (scheduled.failWith) this.index.append({ e: 'failed', seq, at, failure: scheduled.failWith });
    }
    const record = this.index.operations.get(seq);
    this.reach(seq);
    const promise =
      this.nondeterminism || !record
        ? new Promise<never>(() => {})
        : record.outcome
          ? settle(record, map)
          : this.waits.wait(seq, map);
    this.tracked.set(promise, seq);
    return promise;
  }

  /**
   * A combinator over operations, decided by the outcomes in the history (in the order they were
   * recorded, not the order promises settle). Undecided now, it waits: a replay never decides it
   * (the next replay will), a resumed run decides it when an outcome it needs arrives.
   */
  private decide(decision: () => Promise<unknown> | undefined): Promise<unknown> {
    return decision() ?? (this.nondeterminism ? NEVER : this.waits.later(decision));
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
      { position: seq, recorded, requested },
    );
  }

  /** The code finished (returned or threw) while the history holds operations from `seq` on. */
  finishedBefore(seq: number): void {
    const held = this.index.operations.get(seq);
    const recorded = this.index.recorded.get(seq);
    this.diverged(
      seq,
      held ? this.describe(held) : recorded ? `${recorded.op}()` : 'an operation',
      'nothing (run finished)',
    );
  }
}

function settle(record: OperationRecord, map: (value: unknown) => unknown): Promise<unknown> {
  const outcome = record.outcome!;
  if (outcome.ok) return Promise.resolve(map(thaw(outcome.value)));
  const failed = Promise.reject(new OperationFailedError(outcome.failure!));
  failed.catch(() => {}); // an operation the workflow never awaits must not crash the process
  return failed;
}
