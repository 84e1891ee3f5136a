/**
 * One replay of an instance, for the engine: runs `run` over the history with the hooks that turn
 * new operations into outgoing messages, then says how it ended — still running, finished, or
 * parked (the code no longer replays the history, or it awaits something that is not a `ctx`
 * operation). Parking schedules the durable recheck timer; a successful replay of a parked
 * instance clears it.
 */
import { NonRetryableError, UnroutableError } from '../errors.js';
import { EntityOperationMessage } from '../entities/messages.js';
import { type SagaContext, type SagaContextImpl } from '../sagas/context.js';
import { ContinueAsNew, type ActivityOptions, type ReplayHooks, ReplayContext } from './context.js';
import { type WorkflowRun } from './definitions.js';
import { type EngineDeps } from './engine.js';
import { toFailure } from './failure.js';
import { HistoryIndex, type ParkedInfo, type WorkflowState, type WorkflowStatusName } from './history.js';
import { checkSize, tooLargeFailure } from './limits.js';
import {
  type ActivityTimeouts,
  ExecuteActivity,
  type FailureInfo,
  OperationResult,
  StartWorkflow,
  WorkflowRecheck,
  WorkflowTimer,
} from './messages.js';
import { resolveRetryPolicy } from './retry.js';
import { trackFirstAttempt } from './activity-deadlines.js';
import { toMillis } from '../util/duration.js';

/** @internal */
export type Ctx = SagaContext<WorkflowState>;

/** @internal */
export function impl(ctx: Ctx): SagaContextImpl<WorkflowState> {
  return ctx as SagaContextImpl<WorkflowState>;
}

/** How a replay ended when the instance finished. */
export interface Finished {
  readonly index: HistoryIndex;
  readonly status: WorkflowStatusName;
  readonly result?: unknown;
  readonly failure?: FailureInfo;
}

/** A child's reply that would not fit in a message becomes a `payload-too-large` failure. */
export function checkReply(reply: OperationResult, limit: number): OperationResult | undefined {
  if (!reply.ok) return undefined;
  const error = checkSize('The child workflow result', reply, limit);
  if (!error) return undefined;
  return new OperationResult(
    reply.instanceId,
    reply.generation,
    reply.seq,
    false,
    undefined,
    tooLargeFailure(error),
    reply.epoch,
  );
}

/**
 * The durable timeouts of an activity call, validated: undefined without any, a failure of the
 * operation (code `invalid-activity-options`, naming the option) for a bad one.
 */
function activityTimeouts(
  name: string,
  options: ActivityOptions | undefined,
  maxMs: number,
): { value: ActivityTimeouts | undefined } | { failure: FailureInfo } {
  if (options?.startToCloseTimeout === undefined && options?.heartbeatTimeout === undefined)
    return { value: undefined };
  const read = (field: 'startToCloseTimeout' | 'heartbeatTimeout'): number | undefined => {
    const value = options[field];
    if (value === undefined) return undefined;
    const ms = toMillis(value, field);
    if (!(ms > 0)) throw new Error(`${field} must be positive`);
    if (ms > maxMs)
      throw new Error(
        `${field} of ${ms} ms is over workflowOptions.maxActivityTimeout (${maxMs} ms): an attempt holds its delivery while it runs, and RabbitMQ's consumer_timeout (30 min by default) must stay above it`,
      );
    return ms;
  };
  try {
    const startToCloseMs = read('startToCloseTimeout');
    const heartbeatMs = read('heartbeatTimeout');
    return {
      value: {
        ...(startToCloseMs !== undefined ? { startToCloseMs } : {}),
        ...(heartbeatMs !== undefined ? { heartbeatMs } : {}),
      },
    };
  } catch (error) {
    return {
      failure: {
        name: 'ConfigurationError',
        code: 'invalid-activity-options',
        message: `activity '${name}': ${(error as Error).message}`,
      },
    };
  }
}

/** A run suspended after a handling, as the run cache keeps it (see `run-cache.ts`). */
export interface LiveRun {
  readonly replay: ReplayContext;
  readonly index: HistoryIndex;
  readonly handle: RunHandle;
  readonly generation: number;
  readonly epoch: number;
  /** The class of the workflow object that runs it: another one (a redeploy) means a replay. */
  readonly code: unknown;
}

/** How a replay (or a resume) ended: finished, or the run that is now suspended. */
export interface Advanced {
  readonly finished?: Finished;
  /** The run suspended on pending operations, when it may be resumed by the next message. */
  readonly live?: LiveRun;
}

/**
 * Brings the instance up to date with its history: resumes `resume` (a cached run at the version
 * this handling loaded, its index rebased on the state's history) or replays `run` from the top
 * over `index` (built by the engine for this handling) — again after each `continueAsNew`.
 */
export async function replayInstance(
  ctx: Ctx,
  deps: EngineDeps,
  stopForContinue: (ctx: Ctx, index: HistoryIndex) => void,
  from: { readonly resume?: LiveRun; readonly index?: HistoryIndex } = {},
): Promise<Advanced> {
  const wasParked = ctx.state.status === 'parked' ? ctx.state.parked : undefined;
  let resume = from.resume;
  let given = from.index;
  for (;;) {
    const state = ctx.state;
    const workflow = deps.resolveWorkflow(state.type);
    if (!workflow) {
      throw new NonRetryableError(
        `Workflow type '${state.type}' is not registered on endpoint '${deps.endpoint}'`,
        { code: 'unknown-workflow' },
      );
    }
    const index =
      resume?.index ??
      (given?.history === state.history ? given : new HistoryIndex(state.history, { build: deps.build }));
    given = undefined;
    const bound = handlingHooks(ctx, deps);
    let replay: ReplayContext;
    let handle: RunHandle;
    if (resume) {
      replay = resume.replay;
      handle = resume.handle;
      replay.rebind(bound.hooks);
      replay.deliver();
      resume = undefined;
    } else {
      replay = new ReplayContext(state.instanceId, state.type, state.generation, index, bound.hooks);
      handle = startRun(workflow, replay, state.input);
    }
    await untilSuspended(handle, replay);
    replay.close();
    if (bound.error() !== undefined) throw bound.error();
    const outcome = handle.outcome;
    if (!replay.nondeterminism && outcome.kind !== 'suspended') {
      const unreached = replay.unreached();
      if (unreached !== undefined) replay.finishedBefore(unreached);
    }
    if (replay.nondeterminism) {
      const { position, recorded, requested } = replay.nondeterminism.details;
      park(ctx, deps, wasParked, {
        kind: 'non-determinism',
        message: replay.nondeterminism.message,
        ...(position !== undefined ? { position } : {}),
        ...(recorded !== undefined ? { recorded } : {}),
        ...(requested !== undefined ? { requested } : {}),
      });
      return {};
    }
    if (replay.continueWith) {
      stopForContinue(ctx, index);
      const carried = state.history.filter((e) => e.e === 'signal' && !index.consumedSignals.has(e.id));
      state.generation++;
      state.input = replay.continueWith.input;
      state.history = [];
      delete state.historyCounted;
      const next = new HistoryIndex(state.history, { build: deps.build });
      next.append({ e: 'started', at: ctx.now(), generation: state.generation });
      for (const signal of carried) next.append(signal);
      given = next;
      continue;
    }
    if (outcome.kind === 'suspended' && !replay.waitsOnPending) {
      park(ctx, deps, wasParked, {
        kind: 'non-ctx-await',
        message: `run is suspended but waits on no pending ctx operation: it awaited something that is not a ctx operation (a fetch, a setTimeout, a plain promise) after ${replay.lastCall ?? 'the start of run'}`,
      });
      return {};
    }
    unpark(ctx, wasParked);
    if (outcome.kind === 'done') return { finished: { index, status: 'completed', result: outcome.value } };
    if (outcome.kind === 'failed')
      return { finished: { index, status: 'failed', failure: toFailure(outcome.error) } };
    const live: LiveRun = {
      replay,
      index,
      handle,
      generation: state.generation,
      epoch: state.epoch ?? 0,
      code: workflow.constructor,
    };
    return replay.resumable ? { live } : {};
  }
}

/**
 * The hooks through which a replayed or resumed run acts for the handling of `ctx`: new
 * operations become its outgoing messages and timers, steps checkpoint through it. `error` is the
 * first error a hook threw (the handling fails with it).
 */
function handlingHooks(ctx: Ctx, deps: EngineDeps): { hooks: ReplayHooks; error(): unknown } {
  const context = impl(ctx);
  const state = ctx.state;
  const epoch = state.epoch ?? 0;
  const epochField = epoch === 0 ? undefined : epoch;
  let hookError: unknown;
  let checkpoints: Promise<void> = Promise.resolve();
  const guard =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    (...args: A): R => {
      try {
        return fn(...args);
      } catch (error) {
        hookError ??= error;
        throw error;
      }
    };
  const hooks: ReplayHooks = {
    now: ctx.now(),
    epoch,
    suggestContinueAsNew: deps.history.suggest,
    scheduleActivity: guard(
      (seq: number, name: string, input: unknown, options: ActivityOptions | undefined) => {
        const retry = resolveRetryPolicy(options?.retry, deps.defaultRetry);
        const timeouts = activityTimeouts(name, options, deps.maxActivityTimeoutMs);
        if ('failure' in timeouts) return timeouts;
        const command = new ExecuteActivity(
          state.instanceId,
          state.generation,
          seq,
          name,
          input,
          1,
          retry,
          deps.endpoint,
          epochField,
          timeouts.value,
        );
        const tooLarge = checkSize(`The input of activity '${name}'`, command, deps.maxBodyBytes);
        if (tooLarge) return { failure: tooLargeFailure(tooLarge) };
        context.outgoing.send(command, { to: deps.activityEndpoint });
        if (timeouts.value)
          trackFirstAttempt(ctx, seq, { activity: name, input, retry, timeouts: timeouts.value });
        return undefined;
      },
    ),
    startTimer: guard((seq: number, dueAt: Date) =>
      context.requestTimeoutNow(new WorkflowTimer(state.instanceId, state.generation, seq, epochField), {
        at: dueAt,
      }),
    ),
    startChild: guard((seq: number, childId: string, type: string, input: unknown) => {
      const parent = {
        instanceId: state.instanceId,
        seq,
        generation: state.generation,
        ...(epochField ? { epoch: epochField } : {}),
      };
      const start = new StartWorkflow(childId, type, input, parent);
      const tooLarge = checkSize(`The input of child workflow '${type}'`, start, deps.maxBodyBytes);
      if (tooLarge) return { failure: tooLargeFailure(tooLarge) };
      context.outgoing.send(start, { to: deps.endpoint });
      return undefined;
    }),
    entityOperation: guard(
      (seq: number, entityType: string, key: string, operation: string, input: unknown, call: boolean) => {
        const reply = call
          ? {
              kind: 'workflow' as const,
              endpoint: deps.endpoint,
              instanceId: state.instanceId,
              generation: state.generation,
              seq,
              ...(epochField ? { epoch: epochField } : {}),
            }
          : undefined;
        const message = new EntityOperationMessage(entityType, key, operation, input, reply);
        const tooLarge = checkSize(`The input of ${entityType}.${operation}`, message, deps.maxBodyBytes);
        if (tooLarge) return { failure: tooLargeFailure(tooLarge) };
        try {
          context.outgoing.send(message);
        } catch (error) {
          // A call fails where the workflow can catch it; a signal fails the handling (error queue).
          if (call && error instanceof UnroutableError) return { failure: toFailure(error) };
          throw error;
        }
        return undefined;
      },
    ),
    setLabels: guard((labels: Readonly<Record<string, string | null>>) => context.setLabels(labels)),
    steps: {
      retryPolicy: (policy) => resolveRetryPolicy(policy, deps.defaultRetry),
      tooLarge: (name, value) => {
        const error = checkSize(`The result of step '${name}'`, { value }, deps.maxBodyBytes);
        return error ? tooLargeFailure(error) : undefined;
      },
      checkpoint: () => {
        const run = checkpoints.then(async () => {
          state.interrupted = { message: ctx.envelope.id, emitted: context.outgoing.position };
          await context.checkpoint();
        });
        checkpoints = run.catch(() => {});
        return run;
      },
    },
    onLateCall: (call) =>
      deps.logger.error('workflow code called ctx after its replay suspended', {
        instanceId: state.instanceId,
        call,
      }),
  };
  return { hooks, error: () => hookError };
}

function park(
  ctx: Ctx,
  deps: EngineDeps,
  wasParked: ParkedInfo | undefined,
  found: Omit<ParkedInfo, 'build' | 'since' | 'checks'>,
): void {
  const state = ctx.state;
  state.status = 'parked';
  state.parked = {
    ...found,
    build: deps.build,
    since: wasParked?.since ?? ctx.now(),
    checks: wasParked ? wasParked.checks + 1 : 0,
  };
  state.reason = found.message;
  if (!state.recheckTimerId) {
    state.recheckTimerId = impl(ctx).requestTimeoutNow(new WorkflowRecheck(state.instanceId), {
      after: deps.recheckIntervalMs,
    });
  }
  const fields = { instanceId: state.instanceId, build: deps.build, reason: found.message };
  if (wasParked) deps.logger.info('workflow still parked', fields);
  else deps.logger.error('workflow parked', fields);
}

function unpark(ctx: Ctx, wasParked: ParkedInfo | undefined): void {
  const state = ctx.state;
  state.status = 'running';
  if (!wasParked) return;
  delete state.parked;
  delete state.reason;
  if (state.recheckTimerId) impl(ctx).cancelTimeoutNow(state.recheckTimerId);
  delete state.recheckTimerId;
}

type RunOutcome =
  { kind: 'done'; value: unknown } | { kind: 'failed'; error: unknown } | { kind: 'suspended' };

/** @internal A started `run`: how it ended so far (`suspended` while it waits). */
export interface RunHandle {
  outcome: RunOutcome;
}

/** Starts `run`; its outcome lands in the handle when it returns or throws. */
function startRun(workflow: WorkflowRun, context: ReplayContext, input: unknown): RunHandle {
  const handle: RunHandle = { outcome: { kind: 'suspended' } };
  const running = (async () => workflow.run(context, input))();
  running.then(
    (value) => (handle.outcome = { kind: 'done', value }),
    (error) =>
      (handle.outcome = error instanceof ContinueAsNew ? { kind: 'suspended' } : { kind: 'failed', error }),
  );
  return handle;
}

/**
 * Lets `run` go on until it returns, throws, or waits on an operation that has no outcome yet.
 * Workflow code only awaits operations, which settle in microtasks, so once a macrotask turn
 * passes with `run` unsettled and no step running, it is suspended. A running step is waited for
 * (its outcome checkpointed), then `run` goes on from it.
 */
async function untilSuspended(handle: RunHandle, context: ReplayContext): Promise<void> {
  for (;;) {
    await new Promise((resolve) => setImmediate(resolve));
    const steps = context.takeInFlight();
    if (steps.length === 0) break;
    await Promise.all(steps);
    if (context.stepError !== undefined) throw context.stepError;
  }
}
