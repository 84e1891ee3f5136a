/**
 * The workflow engine is a saga: one built-in saga type (`longhaul.Workflow`) whose instances are
 * workflow instances, correlated by instance id. Each message (start, activity result, timer,
 * signal, cancel) is applied to the instance's history, then `run` is replayed from the top
 * (`context.ts`); the operations it reaches for the first time become outgoing messages. The saga
 * commit path then writes history + outbox + inbox in one conditional write, exactly as for any
 * saga, so workflows get the same exactly-once guarantees.
 *
 * A parked instance (its code no longer replays its history) still takes every message: results,
 * timers, signals and cancels are applied to its history as for a running one, and only the replay's
 * effects wait. Each message, a durable recheck timer and `client.resume` try the replay again; once
 * a worker whose code replays the history handles one, the instance runs on with those inputs, in
 * the order they arrived.
 */
import { Handles, OnTimeout, Saga, StartedBy } from '../sagas/decorators.js';
import { type Logger } from '../util/logger.js';
import { type WorkflowRun } from './definitions.js';
import { countBytes, HistoryIndex, type WorkflowStatusName } from './history.js';
import { type ResolvedHistoryLimits, resolveHistoryLimits } from './limits.js';
import {
  attemptFailed,
  deadlineReached,
  recordHeartbeat,
  trackedAttempt,
  untrack,
} from './activity-deadlines.js';
import {
  ActivityHeartbeat,
  CancelActivity,
  CancelWorkflow,
  type FailureInfo,
  OperationResult,
  type ResolvedRetryPolicy,
  ResetWorkflow,
  ResumeWorkflow,
  SignalWorkflow,
  StartWorkflow,
  TerminateWorkflow,
  WorkflowRecheck,
  WorkflowTimer,
} from './messages.js';
import { rewind } from './reset.js';
import { Attr } from '../telemetry/names.js';
import { type Telemetry } from '../telemetry/telemetry.js';
import { checkReply, impl, replayInstance, type Ctx } from './replay-step.js';
import { DEFAULT_CACHED_RUNS, RunCache } from './run-cache.js';
import { Handlings } from './handlings.js';

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
  /** The code version stamped on history events. @defaultValue 'unversioned' */
  readonly build?: string;
  /** How often a parked instance retries its replay. @defaultValue 60,000 ms */
  readonly recheckIntervalMs?: number;
  /** The message body limit that payloads are checked against. @defaultValue 1 MiB */
  readonly maxBodyBytes?: number;
  /** History size thresholds. @defaultValue see {@link resolveHistoryLimits} */
  readonly history?: ResolvedHistoryLimits;
  /** The longest `startToCloseTimeout` / `heartbeatTimeout` an activity call may set. @defaultValue 25 min */
  readonly maxActivityTimeoutMs?: number;
  /** Suspended runs kept to resume instead of replaying (`0`: off). @defaultValue 1000 */
  readonly cachedRuns?: number;
  /** Spans of replays. @defaultValue none */
  readonly telemetry?: Telemetry;
}

/** {@link WorkflowEngineDeps} with its defaults applied. */
export type EngineDeps = Required<WorkflowEngineDeps>;

const ACTIVE: readonly WorkflowStatusName[] = ['running', 'parked'];

@Saga(WORKFLOW_SAGA)
export class WorkflowEngine {
  private readonly deps: EngineDeps;
  /** @internal Suspended runs by instance id (see `run-cache.ts`). */
  readonly runs: RunCache;
  private readonly handlings: Handlings;

  constructor(deps: WorkflowEngineDeps) {
    this.deps = {
      cachedRuns: DEFAULT_CACHED_RUNS,
      build: 'unversioned',
      recheckIntervalMs: 60_000,
      maxBodyBytes: 1024 * 1024,
      history: resolveHistoryLimits(),
      maxActivityTimeoutMs: 25 * 60_000,
      ...deps,
    } as EngineDeps;
    this.runs = new RunCache(this.deps.cachedRuns);
    this.handlings = new Handlings(this.runs, this.deps);
  }

  // `handle`: the rerun of a start whose steps were checkpointed must go on from them.
  @StartedBy(StartWorkflow, { correlateBy: (m) => m.instanceId, onExisting: 'handle' })
  async start(msg: StartWorkflow, ctx: Ctx): Promise<void> {
    if (!ctx.isNew) {
      if (!ctx.state.interrupted)
        this.deps.logger.info('start of an existing workflow instance ignored', {
          instanceId: ctx.state.instanceId,
        });
      return this.goOn(ctx); // a second start with the same id: the instance exists
    }
    const at = ctx.now();
    ctx.state = {
      type: msg.workflowType,
      instanceId: msg.instanceId,
      generation: 0,
      input: msg.input,
      status: 'running',
      history: [],
      createdAt: at,
      ...(msg.parent ? { parent: msg.parent } : {}),
    };
    this.index(ctx).append({ e: 'started', at, generation: 0 });
    await this.advance(ctx);
  }

  @Handles(SignalWorkflow, { correlateBy: (m) => m.instanceId, notFound: 'retry' })
  async signal(msg: SignalWorkflow, ctx: Ctx): Promise<void> {
    if (!this.accepting(ctx, msg)) return;
    const index = this.index(ctx);
    const id = ctx.envelope.id;
    if (index.signalIds.has(id)) {
      this.deps.logger.info('duplicate signal ignored', { instanceId: ctx.state.instanceId, signal: id });
      return this.goOn(ctx);
    }
    const waiting = index.pending().find((o) => o.op === 'event' && o.name === msg.name);
    if (waiting) {
      index.append({ e: 'completed', seq: waiting.seq, value: msg.payload, signal: id, at: ctx.now() });
      if (waiting.timerId) impl(ctx).cancelTimeoutNow(waiting.timerId);
    } else {
      index.append({ e: 'signal', id, name: msg.name, payload: msg.payload, at: ctx.now() });
    }
    await this.advance(ctx);
  }

  @Handles(OperationResult, { correlateBy: (m) => m.instanceId })
  async result(msg: OperationResult, ctx: Ctx): Promise<void> {
    if (!this.accepting(ctx, msg) || !this.current(ctx, msg.generation, msg.epoch, msg)) return;
    const index = this.index(ctx);
    const operation = index.operations.get(msg.seq);
    if (!operation || operation.outcome) return this.goOn(ctx); // cancelled meanwhile, or a duplicate
    const tracked = trackedAttempt(ctx, msg.seq);
    if (tracked && msg.attempt !== undefined) {
      if (msg.attempt !== tracked.attempt) return this.goOn(ctx); // an attempt that already timed out
      if (!msg.ok && msg.retryable) {
        attemptFailed(ctx, this.deps, index, msg.seq, msg.failure ?? { name: 'Error', message: 'failed' });
        return this.advance(ctx);
      }
    }
    untrack(ctx, msg.seq);
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
    if (!this.accepting(ctx, msg) || !this.current(ctx, msg.generation, msg.epoch, msg)) return;
    const index = this.index(ctx);
    const operation = index.operations.get(msg.seq);
    if (!operation || operation.outcome) return this.goOn(ctx);
    if (operation.op === 'activity') {
      // The durable deadline of an attempt: re-armed after a heartbeat, else the attempt failed.
      if (!deadlineReached(ctx, this.deps, index, msg.seq)) return this.goOn(ctx);
      return this.advance(ctx);
    }
    if (operation.op === 'step') {
      // A step's retry timer: the next attempt runs on this replay (a stale timer changes nothing).
      if (operation.timerId === ctx.envelope.id && !operation.retryDue)
        index.append({ e: 'retry-due', seq: msg.seq, timerId: ctx.envelope.id, at: ctx.now() });
      return this.advance(ctx);
    }
    index.append(
      operation.op === 'event'
        ? { e: 'completed', seq: msg.seq, value: null, timedOut: true, at: ctx.now() }
        : { e: 'completed', seq: msg.seq, at: ctx.now() },
    );
    await this.advance(ctx);
  }

  @Handles(ActivityHeartbeat, { correlateBy: (m) => m.instanceId })
  async heartbeat(msg: ActivityHeartbeat, ctx: Ctx): Promise<void> {
    if (!this.accepting(ctx, msg) || !this.current(ctx, msg.generation, msg.epoch, msg)) return;
    const operation = this.index(ctx).operations.get(msg.seq);
    if (operation && !operation.outcome) recordHeartbeat(ctx, msg.seq, msg.attempt, msg.details);
    // Nothing to replay: only the attempt's deadline moved (a handling cut short still goes on).
    if (ctx.state.interrupted) return this.advance(ctx);
    this.settle(ctx);
  }

  @Handles(CancelWorkflow, { correlateBy: (m) => m.instanceId, notFound: 'retry' })
  async cancel(msg: CancelWorkflow, ctx: Ctx): Promise<void> {
    if (!this.accepting(ctx, msg)) return;
    const index = this.index(ctx);
    if (index.cancelRequested) return this.goOn(ctx);
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
    if (!ACTIVE.includes(ctx.state.status)) return;
    const index = this.index(ctx);
    this.stopPending(ctx, index, (child) => new TerminateWorkflow(child, `parent terminated: ${msg.reason}`));
    this.finish(ctx, index, 'terminated', {
      failure: { name: 'TerminatedError', message: `terminated: ${msg.reason}`, code: 'terminated' },
      reason: msg.reason,
    });
    this.settle(ctx);
  }

  @Handles(ResumeWorkflow, { correlateBy: (m) => m.instanceId })
  async resume(msg: ResumeWorkflow, ctx: Ctx): Promise<void> {
    if (!this.accepting(ctx, msg)) return;
    if (ctx.state.status !== 'parked') {
      this.deps.logger.info('resume of a workflow that is not parked ignored', {
        instanceId: ctx.state.instanceId,
        status: ctx.state.status,
      });
      return this.goOn(ctx);
    }
    await this.advance(ctx);
  }

  @OnTimeout(WorkflowRecheck)
  async recheck(msg: WorkflowRecheck, ctx: Ctx): Promise<void> {
    if (ctx.isNew) return;
    delete ctx.state.recheckTimerId;
    if (ctx.state.status === 'parked') await this.advance(ctx);
  }

  @Handles(ResetWorkflow, { correlateBy: (m) => m.instanceId })
  async reset(msg: ResetWorkflow, ctx: Ctx): Promise<void> {
    if (ctx.isNew) return;
    const state = ctx.state;
    if (
      !Number.isInteger(msg.afterEvent) ||
      msg.afterEvent < 0 ||
      msg.afterEvent >= state.history.length ||
      (msg.generation !== undefined && msg.generation !== state.generation)
    ) {
      this.deps.logger.error('reset ignored: no such event in the current history', {
        instanceId: state.instanceId,
        afterEvent: msg.afterEvent,
        events: state.history.length,
      });
      return;
    }
    const rewound = rewind(state.history, msg.afterEvent);
    this.stopPending(
      ctx,
      new HistoryIndex(state.history),
      (child) => new CancelWorkflow(child, 'parent reset'),
    );
    if (state.recheckTimerId) impl(ctx).cancelTimeoutNow(state.recheckTimerId);
    const epoch = (state.epoch ?? 0) + 1;
    state.epoch = epoch;
    state.history = rewound.history;
    delete state.historyCounted;
    this.index(ctx).append({
      e: 'reset',
      afterEvent: msg.afterEvent,
      reason: msg.reason,
      epoch,
      dropped: rewound.dropped,
      at: ctx.now(),
    });
    for (const key of ['result', 'failure', 'reason', 'parked', 'finishedAt', 'recheckTimerId'] as const)
      delete state[key];
    state.status = 'running';
    this.deps.logger.warn('workflow reset', {
      instanceId: state.instanceId,
      afterEvent: msg.afterEvent,
      dropped: rewound.dropped,
      reason: msg.reason,
    });
    await this.advance(ctx);
  }

  /**
   * A message that changes nothing (a duplicate) still goes on where an earlier handling stopped
   * after checkpointing steps (a crash before its final commit).
   */
  private async goOn(ctx: Ctx): Promise<void> {
    if (ctx.isNew || !ctx.state.interrupted || !ACTIVE.includes(ctx.state.status)) return;
    await this.advance(ctx);
  }

  private index(ctx: Ctx): HistoryIndex {
    return this.handlings.of(ctx).index;
  }

  /** Resumes the cached run, or replays `run` over the history; commits what it newly asks for, or how it ended. */
  private async advance(ctx: Ctx): Promise<void> {
    const interrupted = ctx.state.interrupted;
    // A rerun of a handling that checkpointed: its ids go on after those already committed.
    if (interrupted?.message === ctx.envelope.id) impl(ctx).outgoing.skipTo(interrupted.emitted);
    const handling = this.handlings.of(ctx);
    const resume = handling.resume;
    handling.resume = undefined;
    const replay = (): ReturnType<typeof replayInstance> =>
      replayInstance(
        ctx,
        this.deps,
        (c, index) =>
          this.stopPending(c, index, (child) => new CancelWorkflow(child, 'parent continued as new')),
        resume ? { resume } : { index: handling.index },
      );
    const telemetry = (this.deps as WorkflowEngineDeps).telemetry;
    const { type, instanceId, history } = ctx.state;
    const advanced = await (telemetry?.tracing
      ? telemetry.span(
          `workflow ${type} ${resume ? 'resume' : 'replay'}`,
          {
            [Attr.workflowType]: type,
            [Attr.workflowId]: instanceId,
            [Attr.historyLength]: history.length,
            'longhaul.workflow.resumed': resume !== undefined,
          },
          replay,
        )
      : replay());
    const end = advanced.finished;
    handling.live = advanced.live;
    if (end) this.finish(ctx, end.index, end.status, end);
    this.settle(ctx);
  }

  /** Keeps the size, checks the history limits and the labels, after every change. */
  private settle(ctx: Ctx): void {
    const state = ctx.state;
    delete state.interrupted;
    const counted =
      state.historyCounted !== undefined && state.historyBytes !== undefined
        ? { events: state.historyCounted, bytes: state.historyBytes }
        : undefined;
    const { bytes } = countBytes(state.history, counted);
    state.historyBytes = bytes;
    state.historyCounted = state.history.length;
    const { suggest, limit } = this.deps.history;
    const events = state.history.length;
    if (ACTIVE.includes(state.status) && (events > limit.events || bytes > limit.bytes)) {
      this.deps.logger.error('workflow history over its limit; instance failed', {
        instanceId: state.instanceId,
        events,
        bytes,
      });
      this.finish(ctx, this.index(ctx), 'failed', {
        failure: {
          name: 'HistoryLimitError',
          code: 'history-too-large',
          message: `The history has ${events} events and ${bytes} bytes, over the limit of ${limit.events} events or ${limit.bytes} bytes (workflowOptions.history.limit): call ctx.continueAsNew when ctx.info.continueAsNewSuggested`,
        },
      });
    } else if (ACTIVE.includes(state.status) && (bytes >= suggest.bytes || events >= suggest.events)) {
      const run = `${state.generation}.${state.epoch ?? 0}`;
      if (state.largeHistoryWarned !== run) {
        state.largeHistoryWarned = run;
        this.deps.logger.warn('workflow history is large: continueAsNew suggested', {
          instanceId: state.instanceId,
          events,
          bytes,
        });
      }
    }
    impl(ctx).labels = { ...impl(ctx).labels, workflowType: state.type, status: state.status };
    if (this.runs.maxRuns > 0) this.handlings.keepRun(ctx);
  }

  private finish(
    ctx: Ctx,
    index: HistoryIndex,
    status: WorkflowStatusName,
    end: { result?: unknown; failure?: FailureInfo; reason?: string },
  ): void {
    const state = ctx.state;
    this.stopPending(ctx, index, (child) => new CancelWorkflow(child, 'parent finished'));
    if (state.recheckTimerId) impl(ctx).cancelTimeoutNow(state.recheckTimerId);
    delete state.recheckTimerId;
    delete state.parked;
    state.status = status;
    state.finishedAt = ctx.now();
    if (end.result !== undefined) state.result = end.result;
    if (end.failure) state.failure = end.failure;
    if (end.reason) state.reason = end.reason;
    this.deps.logger.info(`workflow ${status}`, { instanceId: state.instanceId, type: state.type });
    const parent = state.parent;
    if (parent) {
      let reply = new OperationResult(
        parent.instanceId,
        parent.generation,
        parent.seq,
        status === 'completed',
        end.result,
        end.failure,
        parent.epoch,
      );
      const tooLarge = checkReply(reply, this.deps.maxBodyBytes);
      if (tooLarge) reply = tooLarge;
      impl(ctx).outgoing.send(reply, { to: this.deps.endpoint });
    }
  }

  /**
   * Cancels the timers of pending operations, tells pending children, and aborts pending
   * activities on their workers (`CancelActivity`; a worker elsewhere learns it at its next heartbeat).
   */
  private stopPending(ctx: Ctx, index: HistoryIndex, childMessage: (childId: string) => object): void {
    const state = ctx.state;
    for (const operation of index.pending()) {
      if (operation.timerId) impl(ctx).cancelTimeoutNow(operation.timerId);
      if (operation.childId)
        impl(ctx).outgoing.send(childMessage(operation.childId), { to: this.deps.endpoint });
      if (operation.op === 'activity') {
        untrack(ctx, operation.seq);
        const epoch = state.epoch ? state.epoch : undefined;
        impl(ctx).outgoing.send(
          new CancelActivity(
            state.instanceId,
            state.generation,
            operation.seq,
            'the workflow stopped waiting for it',
            epoch,
          ),
          { to: this.deps.activityEndpoint },
        );
      }
    }
  }

  /** True for a running or parked instance; a finished one logs and ignores the message. */
  private accepting(ctx: Ctx, msg: object): boolean {
    if (ctx.isNew) return false;
    if (ACTIVE.includes(ctx.state.status)) return true;
    this.deps.logger.info(`message for a ${ctx.state.status} workflow ignored`, {
      instanceId: ctx.state.instanceId,
      status: ctx.state.status,
      type: msg.constructor.name,
    });
    return false;
  }

  /** False (and logged) for a result or timer of an earlier generation, or of a part dropped by a reset. */
  private current(ctx: Ctx, generation: number, epoch: number | undefined, msg: object): boolean {
    if (generation === ctx.state.generation && (epoch ?? 0) === (ctx.state.epoch ?? 0)) return true;
    this.deps.logger.info('stale workflow message ignored (an earlier generation or a reset)', {
      instanceId: ctx.state.instanceId,
      type: msg.constructor.name,
    });
    return false;
  }
}
