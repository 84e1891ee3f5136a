import { type Container } from 'inversify';
import { LonghaulError } from '../errors.js';
import { type MessageClass } from '../messages/registry.js';
import { type Duration, toMillis } from '../util/duration.js';
import { type WorkflowStatus } from '../workflows/client.js';
import { OperationFailedError } from '../workflows/context.js';
import {
  activity,
  type ActivityContext,
  type ActivityRef,
  activityNameOf,
  type ActivityExecute,
  type WorkflowClass,
} from '../workflows/definitions.js';
import { type WorkflowHistory } from '../workflows/history-export.js';
import {
  replayHistory,
  type HistoryReplayOptions,
  type HistoryReplayResult,
} from '../workflows/replay-check.js';
import { SagaTestKit, type SagaTestKitOptions } from './saga-test-kit.js';

/** A stand-in for an activity: called with the activity's input and context, instead of it. */
export type ActivityDouble<I = any, O = any> = (input: I, context: ActivityContext) => O | Promise<O>;

/** One call of an activity (real or double) that the kit saw. */
export interface ActivityCall<I = unknown> {
  readonly input: I;
  readonly attempt: number;
  readonly workflowInstanceId: string;
  /** Virtual time of the call. */
  readonly at: Date;
}

/** Options of {@link WorkflowTestKit.start}. */
export interface WorkflowTestKitOptions extends Omit<SagaTestKitOptions, 'workflows' | 'activities'> {
  /** The workflows under test. */
  workflows: readonly WorkflowClass[];
  /** Real activities the workflows may call (classes are resolved from the container). @defaultValue [] */
  activities?: readonly ActivityRef[];
  /**
   * Test doubles, by activity reference: calls of that activity run the double instead. The
   * activity need not be in `activities`. Replace one later with {@link WorkflowTestKit.mockActivity}.
   * @defaultValue none
   */
  doubles?: Iterable<readonly [ActivityRef, ActivityDouble]>;
}

/** Options of {@link WorkflowTestHandle.result}. */
export interface ResultOptions {
  /**
   * Skip time: while the instance waits and nothing is in flight, move the virtual clock to the
   * next timer (a `sleep`, a `waitForEvent` timeout, an activity retry). @defaultValue true
   */
  skipTime?: boolean;
  /** Virtual time allowed to pass before giving up. @defaultValue '3650d' */
  timeout?: Duration;
}

/** A workflow instance in the kit. Every call returns once the kit is idle. */
export class WorkflowTestHandle<O = unknown> {
  /** @internal */
  constructor(
    private readonly kit: WorkflowTestKit,
    readonly id: string,
  ) {}

  /** Raises `event` on the instance (see `WorkflowClient.signal`). */
  async signal<E extends object>(event: MessageClass<E>, payload: E): Promise<void> {
    await this.kit.client.signal(this.id, event, payload);
    await this.kit.idle();
  }

  /** Requests cancellation. */
  async cancel(reason = 'cancelled by test'): Promise<void> {
    await this.kit.client.cancel(this.id, reason);
    await this.kit.idle();
  }

  /** Terminates the instance. */
  async terminate(reason = 'terminated by test'): Promise<void> {
    await this.kit.client.terminate(this.id, reason);
    await this.kit.idle();
  }

  /** The instance's status (it exists once started). */
  async status(): Promise<WorkflowStatus> {
    const status = await this.kit.client.status(this.id);
    if (!status)
      throw new LonghaulError('workflow-not-found', `No workflow instance '${this.id}' in the kit`);
    return status;
  }

  /** The instance's history in the export format (what `client.history` returns). */
  async history(): Promise<WorkflowHistory> {
    const history = await this.kit.client.history(this.id);
    if (!history)
      throw new LonghaulError('workflow-not-found', `No workflow instance '${this.id}' in the kit`);
    return history;
  }

  /**
   * Waits for the result, skipping virtual time while the instance waits on timers. Rejects with
   * an `OperationFailedError` when the instance failed, was terminated or parked, and with a
   * `stuck` error naming what it waits on when nothing the kit can do would move it on.
   */
  async result(options: ResultOptions = {}): Promise<O> {
    const skip = options.skipTime ?? true;
    const deadline = this.kit.clock.now().getTime() + toMillis(options.timeout ?? '3650d', 'timeout');
    for (;;) {
      await this.kit.idle();
      const status = await this.status();
      if (status.status === 'completed') return status.result as O;
      if (status.status !== 'running') {
        throw new OperationFailedError(
          status.failure ?? {
            name: 'ParkedError',
            message: status.reason ?? status.status,
            code: status.status,
          },
        );
      }
      const next = skip ? await this.kit.sagaKit.timeoutStore.nextDueAt() : undefined;
      if (!next || next.getTime() > deadline) {
        const waits = status.pending.map((p) => `${p.op} '${p.name}' (position ${p.seq})`).join(', ');
        const errors = this.kit.sagaKit.errors().map((e) => `${e.reason}: ${e.error}`);
        throw new LonghaulError(
          'stuck',
          `Workflow '${this.id}' is running and waits on ${waits || 'nothing'}, and ${
            next
              ? `the next timer is past the timeout`
              : skip
                ? 'no timer is scheduled'
                : 'time skipping is off'
          }: send the signal or answer the activity it waits on` +
            (errors.length > 0 ? `. The kit's error queue holds: ${errors.join('; ')}` : ''),
        );
      }
      await this.kit.advance(Math.max(1, next.getTime() - this.kit.clock.now().getTime()));
    }
  }

  /** Replays the instance's history against the kit's workflow code (a determinism smoke test). */
  async replay(options?: HistoryReplayOptions): Promise<HistoryReplayResult> {
    return this.kit.replayHistory(await this.history(), options);
  }
}

/**
 * Runs workflows in memory on a virtual clock, with time skipping and activity test doubles.
 * Built on {@link SagaTestKit} (its transport, stores and clock are `kit.sagaKit`'s).
 * @example
 * ```ts
 * const kit = await WorkflowTestKit.start({
 *   workflows: [UserRegistration],
 *   doubles: [[RegisterUser, () => 'user-1'], [DeleteUser, () => undefined]],
 * });
 * const registration = await kit.start(UserRegistration, { email: 'ada@example.com' });
 * expect(await registration.result()).toBe('deleted'); // 3 days of waiting, skipped
 * expect(kit.activityCalls(DeleteUser)).toHaveLength(1);
 * expect((await registration.replay()).ok).toBe(true);
 * await kit.stop();
 * ```
 */
export class WorkflowTestKit {
  private readonly doubles = new Map<string, ActivityDouble>();
  private readonly real = new Map<string, ActivityRef>();
  private readonly calls = new Map<string, ActivityCall[]>();
  private kit?: SagaTestKit;

  private constructor(private readonly workflows: readonly WorkflowClass[]) {}

  /** Builds and starts a kit. */
  static async start(options: WorkflowTestKitOptions): Promise<WorkflowTestKit> {
    const kit = new WorkflowTestKit(options.workflows);
    const refs = new Map<string, ActivityRef>();
    for (const ref of options.activities ?? []) {
      refs.set(activityNameOf(ref), ref);
      kit.real.set(activityNameOf(ref), ref);
    }
    for (const [ref, double] of options.doubles ?? []) {
      refs.set(activityNameOf(ref), ref);
      kit.doubles.set(activityNameOf(ref), double);
    }
    const { doubles: _doubles, activities: _activities, configure, ...rest } = options;
    kit.kit = await SagaTestKit.start({
      ...rest,
      workflowOptions: { ...options.workflowOptions, activityEndpoint: undefined },
      activities: [...refs.keys()].map((name) =>
        activity(name, (input, context) => kit.run(name, input, context)),
      ),
      configure: (container: Container) => {
        configure?.(container);
        for (const ref of kit.real.values()) {
          if (typeof ref === 'function' && !container.isBound(ref)) container.bind(ref).toSelf();
        }
      },
    });
    return kit;
  }

  /** The underlying saga test kit: transport, stores, emitted messages, error queue. */
  get sagaKit(): SagaTestKit {
    if (!this.kit) throw new LonghaulError('not-started', 'The WorkflowTestKit is not started');
    return this.kit;
  }

  /** The workflow client of the kit's endpoint. */
  get client() {
    return this.sagaKit.workflows;
  }

  /** The kit's virtual clock. */
  get clock() {
    return this.sagaKit.clock;
  }

  /** Starts an instance and runs it until it waits (or ends). */
  async start<I, O>(
    workflow: WorkflowClass<I, O>,
    input: I,
    options: { id?: string } = {},
  ): Promise<WorkflowTestHandle<O>> {
    const id = await this.sagaKit.startWorkflow(workflow, input, options);
    return new WorkflowTestHandle<O>(this, id);
  }

  /** Starts an instance and resolves with its result, skipping time (see {@link WorkflowTestHandle.result}). */
  async execute<I, O>(
    workflow: WorkflowClass<I, O>,
    input: I,
    options: { id?: string } & ResultOptions = {},
  ): Promise<O> {
    return (await this.start(workflow, input, options)).result(options);
  }

  /** A handle on an existing instance. */
  handle<O = unknown>(id: string): WorkflowTestHandle<O> {
    return new WorkflowTestHandle<O>(this, id);
  }

  /** Moves the virtual clock forward by `by` (timers that fall due fire) and waits until idle. */
  async advance(by: Duration): Promise<void> {
    await this.sagaKit.advance(by);
  }

  /** Waits until no message is queued or in flight. */
  async idle(): Promise<void> {
    await this.sagaKit.idle();
  }

  /**
   * Replaces an activity with a double from now on (its next attempt runs the double). The
   * activity must have been given to `start` (in `activities` or `doubles`).
   */
  mockActivity<I, O>(ref: ActivityRef<I, O>, double: ActivityDouble<I, Awaited<O>>): void {
    const name = activityNameOf(ref);
    if (!this.real.has(name) && !this.doubles.has(name)) {
      throw new LonghaulError(
        'unknown-activity',
        `Activity '${name}' was not given to WorkflowTestKit.start: list it in activities or doubles (the endpoint's activities are fixed when it starts)`,
      );
    }
    this.doubles.set(name, double as ActivityDouble);
  }

  /** The calls of an activity (real or double) so far, every attempt, in order. */
  activityCalls<I>(ref: ActivityRef<I>): ActivityCall<I>[] {
    return [...(this.calls.get(activityNameOf(ref)) ?? [])] as ActivityCall<I>[];
  }

  /** Replays a history against the kit's workflows (see `replayHistory`). */
  replayHistory(
    history: WorkflowHistory | string,
    options?: HistoryReplayOptions,
  ): Promise<HistoryReplayResult> {
    return replayHistory(this.workflows, history, options);
  }

  async stop(): Promise<void> {
    await this.kit?.stop();
  }

  private async run(name: string, input: unknown, context: ActivityContext): Promise<unknown> {
    const list = this.calls.get(name) ?? [];
    this.calls.set(name, list);
    list.push({
      input,
      attempt: context.attempt,
      workflowInstanceId: context.workflowInstanceId,
      at: this.clock.now(),
    });
    const double = this.doubles.get(name);
    if (double) return double(input, context);
    const ref = this.real.get(name) as ActivityRef;
    if (typeof ref === 'object') return ref.fn(input, context);
    return (this.sagaKit.container.get(ref) as ActivityExecute).execute(input, context);
  }
}
