/**
 * Durable deadlines of activities (`startToCloseTimeout`, `heartbeatTimeout`), for the engine. An
 * activity with either timeout is tracked in the instance (`state.attempts[seq]`): its current
 * attempt, when that attempt was sent, its last heartbeat, and one durable timer (a `WorkflowTimer`
 * in the timeout store) due at the earliest deadline. When the timer fires, the engine compares the
 * deadlines with the store's record: a heartbeat that came meanwhile re-arms it; otherwise the
 * attempt has failed with `ActivityTimeoutError` and the engine retries it per the policy (the next
 * `ExecuteActivity` goes through the timeout store after the backoff) or fails the operation. So a
 * deadline holds when the worker running the attempt died. The engine also owns the retries of
 * such activities: the worker reports each failed attempt instead of scheduling the next one, and
 * the backoff before the next attempt runs on the same timer (the attempt is sent when it fires).
 */
import { type SagaContext, type SagaContextImpl } from '../sagas/context.js';
import { type HistoryIndex, type ActivityAttempt, type WorkflowState } from './history.js';
import { ExecuteActivity, type FailureInfo, WorkflowTimer } from './messages.js';
import { retryDelay } from './retry.js';

type Ctx = SagaContext<WorkflowState>;
const impl = (ctx: Ctx) => ctx as SagaContextImpl<WorkflowState>;

/** What the deadline code needs from the engine. */
export interface DeadlineDeps {
  readonly endpoint: string;
  readonly activityEndpoint: string;
}

/** The earliest deadline of the current attempt (or the end of its backoff, before it is sent). */
function deadlineOf(attempt: ActivityAttempt): {
  at: number;
  which: 'start-to-close' | 'heartbeat' | 'backoff';
} {
  if (attempt.backoffUntil) return { at: new Date(attempt.backoffUntil).getTime(), which: 'backoff' };
  const sent = new Date(attempt.sentAt).getTime();
  const { startToCloseMs, heartbeatMs } = attempt.timeouts;
  const close = startToCloseMs === undefined ? Infinity : sent + startToCloseMs;
  const beat =
    heartbeatMs === undefined
      ? Infinity
      : (attempt.heartbeatAt ? new Date(attempt.heartbeatAt).getTime() : sent) + heartbeatMs;
  return beat < close ? { at: beat, which: 'heartbeat' } : { at: close, which: 'start-to-close' };
}

function arm(ctx: Ctx, seq: number, attempt: ActivityAttempt): void {
  const state = ctx.state;
  const epoch = state.epoch ? state.epoch : undefined;
  attempt.deadlineTimerId = impl(ctx).requestTimeoutNow(
    new WorkflowTimer(state.instanceId, state.generation, seq, epoch),
    { at: new Date(deadlineOf(attempt).at) },
  );
}

/** Starts tracking the first attempt of an activity with a durable deadline. */
export function trackFirstAttempt(
  ctx: Ctx,
  seq: number,
  fields: Pick<ActivityAttempt, 'activity' | 'input' | 'retry' | 'timeouts'>,
): void {
  const attempt: ActivityAttempt = { ...fields, attempt: 1, sentAt: ctx.now() };
  arm(ctx, seq, attempt);
  (ctx.state.attempts ??= {})[String(seq)] = attempt;
}

/** The tracked attempt of `seq`, if any. */
export function trackedAttempt(ctx: Ctx, seq: number): ActivityAttempt | undefined {
  return ctx.state.attempts?.[String(seq)];
}

/** Stops tracking `seq` (its outcome is in, or it was cancelled), cancelling its timer unless it just fired. */
export function untrack(ctx: Ctx, seq: number): void {
  const attempt = trackedAttempt(ctx, seq);
  if (!attempt) return;
  if (attempt.deadlineTimerId && attempt.deadlineTimerId !== ctx.envelope.id)
    impl(ctx).cancelTimeoutNow(attempt.deadlineTimerId);
  delete ctx.state.attempts![String(seq)];
  if (Object.keys(ctx.state.attempts!).length === 0) delete ctx.state.attempts;
}

/** Records a heartbeat of the current attempt; false for a stale one. */
export function recordHeartbeat(ctx: Ctx, seq: number, attemptNumber: number, details: unknown): boolean {
  const attempt = trackedAttempt(ctx, seq);
  if (!attempt || attempt.attempt !== attemptNumber) return false;
  attempt.heartbeatAt = ctx.now();
  if (details !== undefined) attempt.details = details;
  return true;
}

/**
 * The deadline timer of `seq` fired: re-arms it when a heartbeat moved the deadline, else fails
 * the attempt. Returns false for a stale timer (an earlier attempt's, or one already replaced).
 */
export function deadlineReached(ctx: Ctx, deps: DeadlineDeps, index: HistoryIndex, seq: number): boolean {
  const attempt = trackedAttempt(ctx, seq);
  if (!attempt || attempt.deadlineTimerId !== ctx.envelope.id) return false;
  const deadline = deadlineOf(attempt);
  if (deadline.at > ctx.now().getTime()) {
    arm(ctx, seq, attempt);
    return true;
  }
  if (deadline.which === 'backoff') {
    sendAttempt(ctx, deps, seq, attempt);
    return true;
  }
  const limit =
    deadline.which === 'heartbeat' ? attempt.timeouts.heartbeatMs : attempt.timeouts.startToCloseMs;
  attemptFailed(ctx, deps, index, seq, {
    name: 'ActivityTimeoutError',
    code: 'activity-timeout',
    message: `activity '${attempt.activity}' attempt ${attempt.attempt} passed its ${deadline.which} timeout of ${limit} ms`,
  });
  return true;
}

/**
 * The current attempt of `seq` failed: the next attempt is sent after the policy's backoff (with
 * the last heartbeat's details), or the operation fails when no attempt is left or `final`.
 */
export function attemptFailed(
  ctx: Ctx,
  deps: DeadlineDeps,
  index: HistoryIndex,
  seq: number,
  failure: FailureInfo,
  final = false,
): void {
  const attempt = trackedAttempt(ctx, seq)!;
  const at = ctx.now();
  if (
    final ||
    attempt.retry.nonRetryableErrors.includes(failure.name) ||
    attempt.attempt >= attempt.retry.maximumAttempts
  ) {
    untrack(ctx, seq);
    index.append({ e: 'failed', seq, failure, at });
    return;
  }
  if (attempt.deadlineTimerId && attempt.deadlineTimerId !== ctx.envelope.id)
    impl(ctx).cancelTimeoutNow(attempt.deadlineTimerId);
  const retryAt = new Date(at.getTime() + retryDelay(attempt.retry, attempt.attempt + 1));
  index.append({ e: 'attempt-failed', seq, attempt: attempt.attempt, failure, retryAt, at });
  attempt.attempt += 1;
  delete attempt.heartbeatAt;
  if (retryAt.getTime() <= at.getTime()) return sendAttempt(ctx, deps, seq, attempt);
  // The backoff runs on the same durable timer; the next attempt is sent when it ends.
  attempt.backoffUntil = retryAt;
  arm(ctx, seq, attempt);
}

/** Sends the current attempt now and arms its deadline. */
function sendAttempt(ctx: Ctx, deps: DeadlineDeps, seq: number, attempt: ActivityAttempt): void {
  delete attempt.backoffUntil;
  attempt.sentAt = ctx.now();
  const state = ctx.state;
  const command = new ExecuteActivity(
    state.instanceId,
    state.generation,
    seq,
    attempt.activity,
    attempt.input,
    attempt.attempt,
    attempt.retry,
    deps.endpoint,
    state.epoch ? state.epoch : undefined,
    attempt.timeouts,
    attempt.details,
  );
  impl(ctx).outgoing.send(command, { to: deps.activityEndpoint });
  arm(ctx, seq, attempt);
}
