/**
 * The workflow engine is a saga: one built-in saga type (`longhaul.Workflow`) whose instances are
 * workflow instances, correlated by instance id. Each message (start, activity result, timer,
 * signal, cancel) is applied to the instance's history, then `run` is replayed from the top
 * (`context.ts`); the operations it reaches for the first time become outgoing messages. The saga
 * commit path then writes history + outbox + inbox in one conditional write, exactly as for any
 * saga, so workflows get the same exactly-once guarantees.
 */
import { NonRetryableError } from '../errors.js';
import { type SagaContext, SagaContextImpl } from '../sagas/context.js';
import { Handles, OnTimeout, Saga, StartedBy } from '../sagas/decorators.js';
import { type Logger } from '../util/logger.js';
import { ContinueAsNew, type ActivityOptions, type ReplayHooks, ReplayContext } from './context.js';
import { type WorkflowRun } from './definitions.js';
import { toFailure } from './failure.js';
import { HistoryIndex, type WorkflowState, type WorkflowStatusName } from './history.js';
import {
  CancelWorkflow,
  ExecuteActivity,
  type FailureInfo,
  OperationResult,
  type ResolvedRetryPolicy,
  SignalWorkflow,
  StartWorkflow,
  TerminateWorkflow,
  WorkflowTimer,
} from './messages.js';
import { resolveRetryPolicy } from './retry.js';

/** The saga type under which workflow instances are stored. */
export const WORKFLOW_SAGA = 'longhaul.Workflow';

/** What the engine needs from the endpoint. */
export interface WorkflowEngineDeps {
  /** The workflow object for a type name, or undefined when this endpoint does not host it. */
  resolveWorkflow(type: string): WorkflowRun | undefined;
  readonly endpoint: string;
  readonly activityEndpoint: string;
  readonly defaultRetry: ResolvedRetryPolicy;
  readonly logger: Logger;
}

type Ctx = SagaContext<WorkflowState>;

@Saga(WORKFLOW_SAGA)
export class WorkflowEngine {
  constructor(private readonly deps: WorkflowEngineDeps) {}

  @StartedBy(StartWorkflow, { correlateBy: (m) => m.instanceId })
  async start(msg: StartWorkflow, ctx: Ctx): Promise<void> {
    if (!ctx.isNew) return; // a second start with the same id: the instance exists
    const at = ctx.now();
    ctx.state = {
      type: msg.workflowType,
      instanceId: msg.instanceId,
      generation: 0,
      input: msg.input,
      status: 'running',
      history: [{ e: 'started', at, generation: 0 }],
      createdAt: at,
      ...(msg.parent ? { parent: msg.parent } : {}),
    };
    await this.advance(ctx);
  }

  @Handles(SignalWorkflow, { correlateBy: (m) => m.instanceId, notFound: 'retry' })
  async signal(msg: SignalWorkflow, ctx: Ctx): Promise<void> {
    if (!this.running(ctx, msg)) return;
    const index = new HistoryIndex(ctx.state.history);
    const waiting = index.pending().find((o) => o.op === 'event' && o.name === msg.name);
    if (waiting) {
      index.append({
        e: 'completed',
        seq: waiting.seq,
        value: msg.payload,
        signal: ctx.envelope.id,
        at: ctx.now(),
      });
      if (waiting.timerId) impl(ctx).cancelTimeoutNow(waiting.timerId);
    } else {
      index.append({ e: 'signal', id: ctx.envelope.id, name: msg.name, payload: msg.payload, at: ctx.now() });
    }
    await this.advance(ctx);
  }

  @Handles(OperationResult, { correlateBy: (m) => m.instanceId })
  async result(msg: OperationResult, ctx: Ctx): Promise<void> {
    if (!this.running(ctx, msg) || msg.generation !== ctx.state.generation) return;
    const index = new HistoryIndex(ctx.state.history);
    const operation = index.operations.get(msg.seq);
    if (!operation || operation.outcome) return; // cancelled meanwhile, or a duplicate
    const at = ctx.now();
    index.append(
      msg.ok
        ? { e: 'completed', seq: msg.seq, value: msg.value, at }
        : { e: 'failed', seq: msg.seq, failure: msg.failure ?? { name: 'Error', message: 'failed' }, at },
    );
    await this.advance(ctx);
  }

  @OnTimeout(WorkflowTimer)
  async timer(msg: WorkflowTimer, ctx: Ctx): Promise<void> {
    if (!this.running(ctx, msg) || msg.generation !== ctx.state.generation) return;
    const index = new HistoryIndex(ctx.state.history);
    const operation = index.operations.get(msg.seq);
    if (!operation || operation.outcome) return;
    index.append(
      operation.op === 'event'
        ? { e: 'completed', seq: msg.seq, value: null, timedOut: true, at: ctx.now() }
        : { e: 'completed', seq: msg.seq, at: ctx.now() },
    );
    await this.advance(ctx);
  }

  @Handles(CancelWorkflow, { correlateBy: (m) => m.instanceId, notFound: 'retry' })
  async cancel(msg: CancelWorkflow, ctx: Ctx): Promise<void> {
    if (!this.running(ctx, msg)) return;
    const index = new HistoryIndex(ctx.state.history);
    if (index.cancelRequested) return;
    const at = ctx.now();
    index.append({ e: 'cancel-requested', reason: msg.reason, at });
    const failure: FailureInfo = {
      name: 'CancelledError',
      message: `cancelled: ${msg.reason}`,
      code: 'cancelled',
    };
    this.stopPending(ctx, index, (child) => new CancelWorkflow(child, msg.reason));
    for (const operation of index.pending()) index.append({ e: 'failed', seq: operation.seq, failure, at });
    await this.advance(ctx);
  }

  @Handles(TerminateWorkflow, { correlateBy: (m) => m.instanceId, notFound: 'retry' })
  async terminate(msg: TerminateWorkflow, ctx: Ctx): Promise<void> {
    if (ctx.state.status !== 'running' && ctx.state.status !== 'parked') return;
    const index = new HistoryIndex(ctx.state.history);
    this.stopPending(ctx, index, (child) => new TerminateWorkflow(child, `parent terminated: ${msg.reason}`));
    this.finish(ctx, index, 'terminated', {
      failure: { name: 'TerminatedError', message: `terminated: ${msg.reason}`, code: 'terminated' },
      reason: msg.reason,
    });
    label(ctx);
  }

  /** Replays `run` over the history and commits what it newly asks for, or how it ended. */
  private async advance(ctx: Ctx): Promise<void> {
    await this.replay(ctx);
    label(ctx);
  }

  private async replay(ctx: Ctx): Promise<void> {
    const context = impl(ctx);
    for (;;) {
      const state = ctx.state;
      const workflow = this.deps.resolveWorkflow(state.type);
      if (!workflow) {
        throw new NonRetryableError(
          `Workflow type '${state.type}' is not registered on endpoint '${this.deps.endpoint}'`,
          {
            code: 'unknown-workflow',
          },
        );
      }
      const index = new HistoryIndex(state.history);
      let hookError: unknown;
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
        scheduleActivity: guard(
          (seq: number, name: string, input: unknown, options: ActivityOptions | undefined) => {
            const retry = resolveRetryPolicy(options?.retry, this.deps.defaultRetry);
            const command = new ExecuteActivity(
              state.instanceId,
              state.generation,
              seq,
              name,
              input,
              1,
              retry,
              this.deps.endpoint,
            );
            context.outgoing.send(command, { to: this.deps.activityEndpoint });
          },
        ),
        startTimer: guard((seq: number, dueAt: Date) =>
          context.requestTimeoutNow(new WorkflowTimer(state.instanceId, state.generation, seq), {
            at: dueAt,
          }),
        ),
        startChild: guard((seq: number, childId: string, type: string, input: unknown) => {
          const parent = { instanceId: state.instanceId, seq, generation: state.generation };
          context.outgoing.send(new StartWorkflow(childId, type, input, parent), { to: this.deps.endpoint });
        }),
      };
      const replay = new ReplayContext(state.instanceId, state.type, state.generation, index, hooks);
      const outcome = await runUntilSuspended(workflow, replay, state.input);
      if (hookError !== undefined) throw hookError;
      if (replay.nondeterminism) {
        state.status = 'parked';
        state.reason = replay.nondeterminism.message;
        this.deps.logger.error('workflow parked', { instanceId: state.instanceId, reason: state.reason });
        return;
      }
      if (replay.continueWith) {
        this.stopPending(ctx, index, (child) => new CancelWorkflow(child, 'parent continued as new'));
        state.generation++;
        state.input = replay.continueWith.input;
        state.history = [{ e: 'started', at: ctx.now(), generation: state.generation }];
        continue;
      }
      if (outcome.kind === 'done') this.finish(ctx, index, 'completed', { result: outcome.value });
      else if (outcome.kind === 'failed')
        this.finish(ctx, index, 'failed', { failure: toFailure(outcome.error) });
      return;
    }
  }

  private finish(
    ctx: Ctx,
    index: HistoryIndex,
    status: WorkflowStatusName,
    end: { result?: unknown; failure?: FailureInfo; reason?: string },
  ): void {
    const state = ctx.state;
    this.stopPending(ctx, index, (child) => new CancelWorkflow(child, 'parent finished'));
    state.status = status;
    state.finishedAt = ctx.now();
    if (end.result !== undefined) state.result = end.result;
    if (end.failure) state.failure = end.failure;
    if (end.reason) state.reason = end.reason;
    const parent = state.parent;
    if (parent) {
      const reply = new OperationResult(
        parent.instanceId,
        parent.generation,
        parent.seq,
        status === 'completed',
        end.result,
        end.failure,
      );
      impl(ctx).outgoing.send(reply, { to: this.deps.endpoint });
    }
  }

  /** Cancels the timers of pending operations and tells pending children. */
  private stopPending(ctx: Ctx, index: HistoryIndex, childMessage: (childId: string) => object): void {
    for (const operation of index.pending()) {
      if (operation.timerId) impl(ctx).cancelTimeoutNow(operation.timerId);
      if (operation.childId)
        impl(ctx).outgoing.send(childMessage(operation.childId), { to: this.deps.endpoint });
    }
  }

  private running(ctx: Ctx, msg: object): boolean {
    if (ctx.isNew) return false;
    if (ctx.state.status === 'running') return true;
    this.deps.logger.info('message for a finished workflow ignored', {
      instanceId: ctx.state.instanceId,
      status: ctx.state.status,
      type: msg.constructor.name,
    });
    return false;
  }
}

/** Keeps the workflow type and status as indexed labels, for the client's `list`. */
function label(ctx: Ctx): void {
  impl(ctx).labels = { workflowType: ctx.state.type, status: ctx.state.status };
}

function impl(ctx: Ctx): SagaContextImpl<WorkflowState> {
  return ctx as SagaContextImpl<WorkflowState>;
}

type RunOutcome =
  { kind: 'done'; value: unknown } | { kind: 'failed'; error: unknown } | { kind: 'suspended' };

/**
 * Runs `run` until it returns, throws, or waits on an operation that has no outcome yet. Workflow
 * code only awaits operations, which settle in microtasks, so once a macrotask turn passes with
 * `run` unsettled, it is suspended.
 */
async function runUntilSuspended(
  workflow: WorkflowRun,
  context: ReplayContext,
  input: unknown,
): Promise<RunOutcome> {
  let outcome: RunOutcome = { kind: 'suspended' };
  const running = (async () => workflow.run(context, input))();
  running.then(
    (value) => (outcome = { kind: 'done', value }),
    (error) => (outcome = error instanceof ContinueAsNew ? { kind: 'suspended' } : { kind: 'failed', error }),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return outcome;
}
