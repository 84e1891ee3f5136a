import { injectable } from 'inversify';
import { LonghaulError } from '../errors.js';
import { type WorkflowContext } from './context.js';

/** A workflow class: `run(ctx, input)` is replayed from the top for every message of an instance. */
export interface WorkflowRun<I = any, O = any> {
  run(context: WorkflowContext, input: I): Promise<O>;
}

/** A class decorated with `@Workflow`. */
export type WorkflowClass<I = any, O = any> = new (...args: any[]) => WorkflowRun<I, O>;

/** An activity class: `execute(input)` runs on a worker, outside the replay, and may do I/O. */
export interface ActivityExecute<I = any, O = any> {
  execute(input: I, context: ActivityContext): Promise<O> | O;
}

/** What an activity attempt knows about itself. */
export interface ActivityContext {
  readonly attempt: number;
  readonly workflowInstanceId: string;
  readonly activity: string;
  /**
   * Aborted when the attempt must stop: its start-to-close or heartbeat timeout passed (the
   * attempt has failed and will be retried), or the workflow was cancelled or ended. Pass it to
   * `fetch` and other abortable calls; the worker stops waiting for the attempt either way.
   */
  readonly signal: AbortSignal;
  /**
   * Says the attempt is alive, with optional progress `details` (JSON-serialisable). With a
   * `heartbeatTimeout`, an attempt that stops calling it fails and is retried, and the next attempt
   * gets the last details in {@link ActivityContext.heartbeatDetails}. Sends are throttled (at most
   * one per a third of the heartbeat timeout; the latest details win). A no-op without a
   * heartbeat timeout.
   */
  heartbeat(details?: unknown): void;
  /** The details of the last heartbeat an earlier attempt recorded, if any. */
  readonly heartbeatDetails?: unknown;
}

/** A class decorated with `@Activity`. */
export type ActivityClass<I = any, O = any> = new (...args: any[]) => ActivityExecute<I, O>;

/** An activity defined from a function with {@link activity}. */
export interface ActivityFunction<I = any, O = any> {
  readonly activityName: string;
  readonly fn: (input: I, context: ActivityContext) => Promise<O> | O;
}

/** Either form of activity. */
export type ActivityRef<I = any, O = any> = ActivityClass<I, O> | ActivityFunction<I, O>;

const WORKFLOW = Symbol.for('longhaul.workflow');
const ACTIVITY = Symbol.for('longhaul.activity');
const NAME = /^[A-Za-z0-9_.:-]{1,200}$/;

function checkName(kind: string, name: string): void {
  if (!NAME.test(name))
    throw new LonghaulError(`invalid-${kind}`, `${kind} name '${name}' must match ${NAME}`);
}

/**
 * Declares a durable workflow. The class is resolved from the container (it is made
 * `@injectable()`), and its `run` must be deterministic: it may only await `ctx` operations.
 * @example
 * ```ts
 * @Workflow('UserRegistration')
 * class UserRegistration {
 *   async run(ctx: WorkflowContext, input: { email: string }) {
 *     const userId = await ctx.activity(RegisterUser, input.email);
 *     const verified = await ctx.waitForEvent(EmailVerified, { timeout: '3d' });
 *     if (!verified) return ctx.activity(DeleteUser, userId);
 *     await ctx.activity(ActivateUser, userId);
 *   }
 * }
 * ```
 */
export function Workflow(name: string) {
  return (ctor: WorkflowClass): void => {
    checkName('workflow', name);
    injectable()(ctor);
    Object.defineProperty(ctor, WORKFLOW, { value: name, enumerable: false, configurable: true });
  };
}

/** Declares an activity class, resolved from the container with its dependencies. */
export function Activity(name: string) {
  return (ctor: ActivityClass): void => {
    checkName('activity', name);
    injectable()(ctor);
    Object.defineProperty(ctor, ACTIVITY, { value: name, enumerable: false, configurable: true });
  };
}

/** Defines an activity from a function. */
export function activity<I, O>(
  name: string,
  fn: (input: I, context: ActivityContext) => Promise<O> | O,
): ActivityFunction<I, O> {
  checkName('activity', name);
  return { activityName: name, fn };
}

/** The name of a `@Workflow` class. */
export function workflowNameOf(ctor: abstract new (...args: any[]) => unknown): string {
  const name = (ctor as unknown as Record<symbol, string | undefined>)[WORKFLOW];
  if (!name) throw new LonghaulError('not-a-workflow', `${ctor.name} is not decorated with @Workflow`);
  return name;
}

/** The name of an activity (class or function). */
export function activityNameOf(ref: ActivityRef): string {
  if (typeof ref === 'object') return ref.activityName;
  const name = (ref as unknown as Record<symbol, string | undefined>)[ACTIVITY];
  if (!name) throw new LonghaulError('not-an-activity', `${ref.name} is not decorated with @Activity`);
  return name;
}
