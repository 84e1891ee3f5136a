import { NonRetryableError } from '../errors.js';
import { type Handler, type HandlerContext } from '../handlers/handler.js';
import { type KnownItems, type SagaStore } from '../persistence/saga-store.js';
import { type Logger } from '../util/logger.js';
import { runAttempt } from './activity-attempt.js';
import { type Telemetry } from '../telemetry/telemetry.js';
import { WORKFLOW_SAGA } from './engine.js';
import { type HistoryEvent, type WorkflowState } from './history.js';
import { type ActivityContext, type ActivityRef } from './definitions.js';
import { toFailure } from './failure.js';
import { checkSize, tooLargeFailure } from './limits.js';
import { ActivityHeartbeat, type CancelActivity, ExecuteActivity, OperationResult } from './messages.js';
import { retryDelay } from './retry.js';

/** What an {@link ActivityWorker} needs besides its activities. */
export interface ActivityWorkerDeps {
  readonly resolve: (ctor: new (...args: any[]) => object) => object;
  readonly endpoint: string;
  readonly logger: Logger;
  readonly store: SagaStore;
  /** Sends a message at once, outside any handler's commit (heartbeats). */
  readonly sendNow: (message: object, to: string) => Promise<void>;
  /** Results that would encode over this fail with `payload-too-large`. @defaultValue 1 MiB */
  readonly maxBodyBytes?: number;
  /** How long an attempt without a `startToCloseTimeout` may run on the worker. @defaultValue 10 min */
  readonly activityTimeoutMs?: number;
  /** Spans and metrics of attempts. @defaultValue none */
  readonly telemetry?: Telemetry;
  /** The history this endpoint's run cache holds of an instance (a load hint, `FindOptions.known`). */
  readonly knownHistory?: (instanceId: string) => KnownItems | undefined;
}

/** The attempts running on this worker, by operation, so a `CancelActivity` can abort them. */
export class RunningActivities {
  private readonly running = new Map<string, AbortController>();

  static key(m: { instanceId: string; generation: number; seq: number; epoch?: number }): string {
    return `${m.instanceId}|${m.generation}|${m.epoch ?? 0}|${m.seq}`;
  }

  add(key: string, controller: AbortController): void {
    this.running.set(key, controller);
  }

  remove(key: string, controller: AbortController): void {
    if (this.running.get(key) === controller) this.running.delete(key);
  }

  /** Aborts the attempt of `key` if it runs here; true if it did. */
  abort(key: string, reason: string): boolean {
    const controller = this.running.get(key);
    if (!controller) return false;
    controller.abort(new Error(reason));
    return true;
  }
}

/**
 * Runs activities: one `ExecuteActivity` message is one attempt, under its limits (see
 * `activity-attempt.ts`): the worker stops waiting at the attempt's start-to-close or heartbeat
 * timeout and acknowledges the delivery, so a hung activity holds neither the delivery nor the
 * consumer slot past its timeout. Success or a final failure goes back to the workflow instance
 * as an `OperationResult`. A retryable failure of an activity without durable deadlines schedules
 * the next attempt after the policy's backoff (through the timeout store, so it survives
 * restarts); an activity with a durable deadline reports it instead, and the instance decides.
 * Activities run at least once per attempt: a crash before the result is committed runs the
 * attempt again, so activities with side effects should be idempotent.
 */
export class ActivityWorker implements Handler<ExecuteActivity> {
  private readonly maxBodyBytes: number;
  private readonly activityTimeoutMs: number;

  constructor(
    private readonly activities: ReadonlyMap<string, ActivityRef>,
    private readonly deps: ActivityWorkerDeps,
    private readonly running: RunningActivities,
  ) {
    this.maxBodyBytes = deps.maxBodyBytes ?? 1024 * 1024;
    this.activityTimeoutMs = deps.activityTimeoutMs ?? 10 * 60_000;
  }

  /**
   * True when running the attempt would only repeat an effect: the instance already holds an
   * outcome for this operation (a redelivered or duplicated command after the result was
   * committed), or, for an activity with a durable deadline, has moved on to a later attempt.
   */
  private async alreadyDone(msg: ExecuteActivity): Promise<boolean> {
    const known = this.deps.knownHistory?.(msg.instanceId);
    const record = await this.deps.store.findByCorrelation(WORKFLOW_SAGA, msg.instanceId, known && { known });
    const state = record?.state as WorkflowState | null | undefined;
    if (!state) return false; // not in this store (activities hosted apart): run it
    if (state.generation !== msg.generation || (state.epoch ?? 0) !== (msg.epoch ?? 0)) return true;
    if (state.status !== 'running' && state.status !== 'parked') return true;
    if (hasOutcome(state.history, msg.seq)) return true;
    const tracked = msg.timeouts ? state.attempts?.[String(msg.seq)] : undefined;
    return tracked !== undefined && tracked.attempt !== msg.attempt;
  }

  async handle(msg: ExecuteActivity, ctx: HandlerContext): Promise<void> {
    const ref = this.activities.get(msg.activity);
    if (!ref) {
      throw new NonRetryableError(
        `Activity '${msg.activity}' is not registered on endpoint '${this.deps.endpoint}'`,
        { code: 'unknown-activity' },
      );
    }
    if (await this.alreadyDone(msg)) {
      this.deps.logger.info('activity already has an outcome; not run again', {
        activity: msg.activity,
        seq: msg.seq,
      });
      return;
    }
    const key = RunningActivities.key(msg);
    const controller = new AbortController();
    this.running.add(key, controller);
    const heartbeatMs = msg.timeouts?.heartbeatMs;
    let end;
    const attempt = (): ReturnType<typeof runAttempt> =>
      runAttempt(
        (context: ActivityContext) =>
          typeof ref === 'object'
            ? ref.fn(msg.input, context)
            : (this.deps.resolve(ref) as { execute(i: unknown, c: ActivityContext): unknown }).execute(
                msg.input,
                context,
              ),
        {
          activity: msg.activity,
          attempt: msg.attempt,
          workflowInstanceId: msg.instanceId,
          heartbeatDetails: msg.heartbeatDetails,
          startToCloseMs: msg.timeouts?.startToCloseMs ?? this.activityTimeoutMs,
          ...(heartbeatMs !== undefined ? { heartbeatMs } : {}),
          sendHeartbeat: async (details) => {
            await this.deps.sendNow(
              new ActivityHeartbeat(msg.instanceId, msg.generation, msg.seq, msg.attempt, details, msg.epoch),
              msg.replyTo,
            );
            // A worker in another process than the cancel learns it here, as its answer.
            if (await this.alreadyDone(msg)) controller.abort(new Error('the operation has ended'));
          },
          onHeartbeatError: (error) =>
            this.deps.logger.warn('activity heartbeat not sent', {
              activity: msg.activity,
              error: (error as Error).message,
            }),
        },
        controller,
      );
    try {
      const telemetry = this.deps.telemetry;
      end = await (telemetry?.live
        ? telemetry.activityAttempt(msg.activity, msg.attempt, attempt, (e) => e.kind)
        : attempt());
    } finally {
      this.running.remove(key, controller);
    }
    if (end.kind === 'cancelled') {
      this.deps.logger.info('activity attempt aborted', { activity: msg.activity, reason: end.reason });
      return;
    }
    if (end.kind === 'ok') return this.reply(msg, ctx, end.value);
    const failure = toFailure(end.error);
    const nonRetryable =
      end.error instanceof NonRetryableError || msg.retry.nonRetryableErrors.includes(failure.name);
    if (msg.timeouts) {
      // The instance owns the retries of an activity with a durable deadline.
      await ctx.send(this.result(msg, false, undefined, failure, !nonRetryable), { to: msg.replyTo });
      return;
    }
    if (nonRetryable || msg.attempt >= msg.retry.maximumAttempts) {
      await ctx.send(this.result(msg, false, undefined, failure), { to: msg.replyTo });
      return;
    }
    const next = msg.attempt + 1;
    this.deps.logger.info('activity failed; retrying', {
      activity: msg.activity,
      attempt: msg.attempt,
      error: failure.message,
    });
    const retry = new ExecuteActivity(
      msg.instanceId,
      msg.generation,
      msg.seq,
      msg.activity,
      msg.input,
      next,
      msg.retry,
      msg.replyTo,
      msg.epoch,
    );
    await ctx.schedule(retry, { after: retryDelay(msg.retry, next) }, { to: this.deps.endpoint });
  }

  private result(
    msg: ExecuteActivity,
    ok: boolean,
    value: unknown,
    failure: ReturnType<typeof toFailure> | undefined,
    retryable?: boolean,
  ): OperationResult {
    return new OperationResult(
      msg.instanceId,
      msg.generation,
      msg.seq,
      ok,
      value,
      failure,
      msg.epoch,
      msg.timeouts ? msg.attempt : undefined,
      retryable || undefined,
    );
  }

  private async reply(msg: ExecuteActivity, ctx: HandlerContext, value: unknown): Promise<void> {
    let reply = this.result(msg, true, value, undefined);
    const tooLarge = checkSize(`The result of activity '${msg.activity}'`, reply, this.maxBodyBytes);
    if (tooLarge) {
      this.deps.logger.warn('activity result too large for a message; the operation fails', {
        activity: msg.activity,
        bytes: tooLarge.bytes,
        limit: tooLarge.limit,
      });
      reply = this.result(msg, false, undefined, tooLargeFailure(tooLarge));
    }
    await ctx.send(reply, { to: msg.replyTo });
  }
}

/** Aborts an attempt running on this worker when its workflow was cancelled or ended. */
export class ActivityCanceller implements Handler<CancelActivity> {
  constructor(
    private readonly running: RunningActivities,
    private readonly logger: Logger,
  ) {}

  handle(msg: CancelActivity): void {
    const aborted = this.running.abort(RunningActivities.key(msg), msg.reason);
    this.logger.debug(aborted ? 'activity attempt cancelled' : 'activity to cancel is not running here', {
      instanceId: msg.instanceId,
      seq: msg.seq,
    });
  }
}

/**
 * Whether the history holds an outcome for the operation at `seq`: read backwards from the end,
 * down to the operation's `scheduled` event (its outcome can only follow it), so a command for a
 * recent operation costs a few events, not the whole history.
 */
function hasOutcome(history: readonly HistoryEvent[], seq: number): boolean {
  for (let i = history.length - 1; i >= 0; i--) {
    const event = history[i]!;
    if ((event.e === 'completed' || event.e === 'failed') && event.seq === seq) return true;
    if (event.e === 'scheduled' && event.seq === seq) return false;
  }
  return false;
}
