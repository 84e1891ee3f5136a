/**
 * Activities and workflows for the activity timeout, heartbeat and cancellation tests, shared by
 * the in-memory and the real-services files. Runs are counted in `runs` (fixtures.ts).
 */
import { activity, type OperationFailedError, Workflow, type WorkflowContext } from '../../src/index.js';
import { bump } from './fixtures.js';

/** Waits until `signal` aborts (then rejects with its reason), or never when `ignore`. */
function hang(signal: AbortSignal, key: string, ignore = false): Promise<never> {
  return new Promise((_, reject) => {
    if (ignore) return;
    signal.addEventListener('abort', () => {
      bump(`aborted:${key}`);
      reject(signal.reason as Error);
    });
  });
}

/** Hangs on its first attempt, ignoring its signal (only noting it); succeeds on the next. */
export const hangOnce = activity('HangOnce', async (key: string, context) => {
  bump(`hang:${key}:${context.attempt}`);
  if (context.attempt === 1) {
    context.signal.addEventListener('abort', () => bump(`aborted:${key}`));
    return hang(context.signal, key, true);
  }
  return `ok on attempt ${context.attempt}`;
});

/** First attempt: two heartbeats, then silence; the next attempt resumes from the last details. */
export const beatThenStall = activity('BeatThenStall', async (key: string, context) => {
  bump(`beat:${key}:${context.attempt}`);
  if (context.attempt === 1) {
    context.heartbeat({ done: 1 });
    context.heartbeat({ done: 2 });
    return hang(context.signal, key);
  }
  return `attempt ${context.attempt} resumed after ${(context.heartbeatDetails as { done: number } | undefined)?.done}`;
});

/** Runs `ms` in all, heartbeating every 50 ms: kept alive past its heartbeat timeout. */
export const longBeating = activity('LongBeating', async (input: { key: string; ms: number }, context) => {
  bump(`long:${input.key}:${context.attempt}`);
  const until = Date.now() + input.ms;
  while (Date.now() < until) {
    context.heartbeat({ left: until - Date.now() });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return `done on attempt ${context.attempt}`;
});

/** Runs until aborted. */
export const untilAborted = activity('UntilAborted', async (key: string, context) => {
  bump(`running:${key}`);
  return hang(context.signal, key);
});

/** Heartbeats every 50 ms until aborted. */
export const beatUntilAborted = activity('BeatUntilAborted', async (key: string, context) => {
  bump(`running:${key}`);
  const stopped = hang(context.signal, key);
  stopped.catch(() => {}); // returned below, once the loop sees the abort
  while (!context.signal.aborted) {
    context.heartbeat();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return stopped;
});

@Workflow('CancelledBeating')
export class CancelledBeating {
  async run(ctx: WorkflowContext, key: string): Promise<string> {
    try {
      return await ctx.activity(beatUntilAborted, key, { heartbeatTimeout: '600ms' });
    } catch (error) {
      return `stopped: ${(error as OperationFailedError).failure.name}`;
    }
  }
}

@Workflow('WithDeadline')
export class WithDeadline {
  async run(ctx: WorkflowContext, input: { key: string; timeout: string }): Promise<string> {
    return ctx.activity(hangOnce, input.key, {
      startToCloseTimeout: input.timeout,
      retry: { maximumAttempts: 3, initialInterval: '50ms' },
    });
  }
}

@Workflow('WithHeartbeat')
export class WithHeartbeat {
  async run(
    ctx: WorkflowContext,
    input: { key: string; heartbeat: string; longMs?: number },
  ): Promise<string> {
    const options = {
      heartbeatTimeout: input.heartbeat,
      startToCloseTimeout: '20s',
      retry: { maximumAttempts: 3, initialInterval: '50ms' },
    };
    if (input.longMs !== undefined)
      return ctx.activity(longBeating, { key: input.key, ms: input.longMs }, options);
    return ctx.activity(beatThenStall, input.key, options);
  }
}

@Workflow('CancelledActivity')
export class CancelledActivity {
  async run(ctx: WorkflowContext, key: string): Promise<string> {
    try {
      return await ctx.activity(untilAborted, key, { heartbeatTimeout: '10s' });
    } catch (error) {
      return `stopped: ${(error as OperationFailedError).failure.name}`;
    }
  }
}

@Workflow('OutOfAttempts')
export class OutOfAttempts {
  async run(ctx: WorkflowContext, input: { key: string; timeout: string }): Promise<string> {
    try {
      return await ctx.activity(untilAborted, input.key, {
        startToCloseTimeout: input.timeout,
        retry: { maximumAttempts: 2, initialInterval: '50ms' },
      });
    } catch (error) {
      const failure = (error as OperationFailedError).failure;
      return `${failure.name} (${failure.code})`;
    }
  }
}

export const timeoutWorkflows = [
  WithDeadline,
  WithHeartbeat,
  CancelledActivity,
  CancelledBeating,
  OutOfAttempts,
];
export const timeoutActivities = [hangOnce, beatThenStall, longBeating, untilAborted, beatUntilAborted];
