/**
 * One activity attempt on a worker, under its limits: the attempt gets an `AbortSignal` and a
 * throttled `heartbeat`, and the worker stops waiting for it at its start-to-close deadline or when
 * heartbeats stop for longer than the heartbeat timeout (both counted from the attempt's start on
 * this worker), or when it is cancelled. The signal is aborted in each case. JavaScript cannot stop
 * a function that ignores its signal; the worker then only stops waiting, so the delivery and the
 * consumer slot are released at the deadline while the function's promise is left behind.
 */
import { LonghaulError } from '../errors.js';
import { type ActivityContext } from './definitions.js';

/** A start-to-close or heartbeat timeout of an activity attempt (retryable). */
export class ActivityTimeoutError extends LonghaulError {
  constructor(
    readonly timeout: 'start-to-close' | 'heartbeat',
    activity: string,
    attempt: number,
    limitMs: number,
  ) {
    super(
      'activity-timeout',
      `activity '${activity}' attempt ${attempt} passed its ${timeout} timeout of ${limitMs} ms`,
    );
  }
}

/** How an attempt ended, as the worker saw it. */
export type AttemptEnd =
  | { readonly kind: 'ok'; readonly value: unknown }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'cancelled'; readonly reason: string };

/** The limits and hooks of one attempt. */
export interface AttemptSetup {
  readonly activity: string;
  readonly attempt: number;
  readonly workflowInstanceId: string;
  readonly heartbeatDetails?: unknown;
  /** The worker stops waiting after this long. */
  readonly startToCloseMs: number;
  /** Set: heartbeats are expected at least this often, and are sent on. */
  readonly heartbeatMs?: number;
  /** Sends one heartbeat on (at most one per a third of `heartbeatMs`). */
  sendHeartbeat(details: unknown): Promise<void>;
  /** Told of a failed heartbeat send (the attempt goes on). */
  onHeartbeatError(error: unknown): void;
}

/** Runs `run` as one attempt under `setup`'s limits; `controller` aborts it from outside (cancel). */
export function runAttempt(
  run: (context: ActivityContext) => unknown,
  setup: AttemptSetup,
  controller: AbortController,
): Promise<AttemptEnd> {
  return new Promise<AttemptEnd>((resolve) => {
    let done = false;
    let heartbeatTimer: NodeJS.Timeout | undefined;
    let trailing: NodeJS.Timeout | undefined;
    let lastSent = 0;
    let latest: { details: unknown } | undefined;
    const finish = (end: AttemptEnd, abortWith?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(closeTimer);
      clearTimeout(heartbeatTimer);
      clearTimeout(trailing);
      resolve(end);
      if (abortWith && !controller.signal.aborted) controller.abort(abortWith);
    };
    const timedOut = (which: 'start-to-close' | 'heartbeat', ms: number): void => {
      const error = new ActivityTimeoutError(which, setup.activity, setup.attempt, ms);
      finish({ kind: 'error', error }, error);
    };
    // Timers never keep the process alive: an attempt left behind must not hold up an exit.
    const closeTimer = setTimeout(
      () => timedOut('start-to-close', setup.startToCloseMs),
      setup.startToCloseMs,
    ).unref();
    const armHeartbeat = (): void => {
      const ms = setup.heartbeatMs;
      if (ms === undefined) return;
      clearTimeout(heartbeatTimer);
      heartbeatTimer = setTimeout(() => timedOut('heartbeat', ms), ms).unref();
    };
    armHeartbeat();
    controller.signal.addEventListener(
      'abort',
      () => finish({ kind: 'cancelled', reason: String(controller.signal.reason ?? 'cancelled') }),
      { once: true },
    );
    const flush = (): void => {
      trailing = undefined;
      if (!latest || done) return;
      const { details } = latest;
      latest = undefined;
      lastSent = Date.now();
      setup.sendHeartbeat(details).catch((error: unknown) => setup.onHeartbeatError(error));
    };
    const context: ActivityContext = {
      activity: setup.activity,
      attempt: setup.attempt,
      workflowInstanceId: setup.workflowInstanceId,
      signal: controller.signal,
      ...(setup.heartbeatDetails !== undefined ? { heartbeatDetails: setup.heartbeatDetails } : {}),
      heartbeat: (details?: unknown) => {
        if (done || setup.heartbeatMs === undefined) return;
        armHeartbeat();
        latest = { details };
        const wait = lastSent + setup.heartbeatMs / 3 - Date.now();
        if (wait <= 0) flush();
        else trailing ??= setTimeout(flush, wait).unref();
      },
    };
    Promise.resolve()
      .then(() => run(context))
      .then(
        (value) => finish({ kind: 'ok', value }),
        (error: unknown) => finish({ kind: 'error', error }),
      );
  });
}
