import { type Container } from 'inversify';
import { LonghaulError } from '../errors.js';
import { type Duration } from '../util/duration.js';
import {
  activity,
  type ActivityContext,
  type ActivityRef,
  activityNameOf,
  type ActivityExecute,
  type WorkflowClass,
  workflowNameOf,
} from '../workflows/definitions.js';
import { type WorkflowHistory } from '../workflows/history-export.js';
import {
  replayHistory,
  type HistoryReplayOptions,
  type HistoryReplayResult,
} from '../workflows/replay-check.js';
import { SagaTestKit, type SagaTestKitOptions } from './saga-test-kit.js';
import { type ResultOptions, WorkflowTestHandle } from './workflow-test-handle.js';

export { WorkflowTestHandle, type ResultOptions } from './workflow-test-handle.js';

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
  /** The code currently deployed for each workflow type, and the container token of each class. */
  private readonly deployed = new Map<string, WorkflowClass>();
  private readonly tokens = new Map<WorkflowClass, symbol>();
  private container?: Container;
  private kit?: SagaTestKit;

  private constructor() {}

  /** Builds and starts a kit. */
  static async start(options: WorkflowTestKitOptions): Promise<WorkflowTestKit> {
    const kit = new WorkflowTestKit();
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
        kit.container = container;
        for (const ref of kit.real.values()) {
          if (typeof ref === 'function' && !container.isBound(ref)) container.bind(ref).toSelf();
        }
        for (const workflow of options.workflows) {
          const name = workflowNameOf(workflow);
          if (container.isBound(workflow)) continue; // bound by the test: not redeployable
          kit.deploy(workflow, name);
          container.bind(workflow).toDynamicValue((context) => context.get(kit.tokenOf(name)));
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

  /**
   * Deploys new code for workflow types given to `start`: from the next replay on (the next
   * message, a `resume`, a recheck), instances of the same `@Workflow` name run these classes, as
   * after a deploy or a rollback. Use it to test that a change parks running instances, or not.
   */
  redeploy(...workflows: WorkflowClass[]): void {
    const named = workflows.map((workflow) => [workflow, workflowNameOf(workflow)] as const);
    for (const [, name] of named) {
      if (!this.deployed.has(name)) {
        throw new LonghaulError(
          'unknown-workflow',
          `Workflow '${name}' was not given to WorkflowTestKit.start (or its class was bound by configure): only those can be redeployed`,
        );
      }
    }
    for (const [workflow, name] of named) this.deploy(workflow, name);
  }

  /** Replays a history against the kit's workflows as now deployed (see `replayHistory`). */
  replayHistory(
    history: WorkflowHistory | string,
    options?: HistoryReplayOptions,
  ): Promise<HistoryReplayResult> {
    return replayHistory([...this.deployed.values()], history, options);
  }

  async stop(): Promise<void> {
    await this.kit?.stop();
  }

  private deploy(workflow: WorkflowClass, name: string): void {
    if (!this.tokens.has(workflow)) {
      const token = Symbol(`longhaul.kit.workflow:${name}`);
      this.container?.bind(token).to(workflow);
      this.tokens.set(workflow, token);
    }
    this.deployed.set(name, workflow);
  }

  private tokenOf(name: string): symbol {
    return this.tokens.get(this.deployed.get(name) as WorkflowClass) as symbol;
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
