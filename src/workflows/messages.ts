/**
 * The messages workflows run on. They are ordinary messages on the endpoint's queue, handled by
 * the built-in workflow saga (`engine.ts`) and activity handler (`activity-worker.ts`).
 */
import { Command, Message } from '../messages/registry.js';

/** A failure as recorded in history and carried between processes. */
export interface FailureInfo {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
}

/** Retry policy of an activity, in milliseconds. */
export interface ResolvedRetryPolicy {
  readonly maximumAttempts: number;
  readonly initialIntervalMs: number;
  readonly backoffCoefficient: number;
  readonly maximumIntervalMs: number;
  readonly nonRetryableErrors: readonly string[];
}

@Command('longhaul.workflow.Start')
export class StartWorkflow {
  constructor(
    readonly instanceId: string,
    readonly workflowType: string,
    readonly input: unknown,
    readonly parent?: {
      readonly instanceId: string;
      readonly seq: number;
      readonly generation: number;
      /** The parent's reset count when it started this child. */
      readonly epoch?: number;
    },
  ) {}
}

@Command('longhaul.workflow.Signal')
export class SignalWorkflow {
  constructor(
    readonly instanceId: string,
    readonly name: string,
    readonly payload: unknown,
  ) {}
}

@Command('longhaul.workflow.Cancel')
export class CancelWorkflow {
  constructor(
    readonly instanceId: string,
    readonly reason: string,
  ) {}
}

@Command('longhaul.workflow.Terminate')
export class TerminateWorkflow {
  constructor(
    readonly instanceId: string,
    readonly reason: string,
  ) {}
}

/** The outcome of an activity or a child workflow, returned to the waiting instance. */
@Command('longhaul.workflow.OperationResult')
export class OperationResult {
  constructor(
    readonly instanceId: string,
    readonly generation: number,
    readonly seq: number,
    readonly ok: boolean,
    readonly value?: unknown,
    readonly failure?: FailureInfo,
    /** The instance's reset count when the operation was scheduled (absent: 0). */
    readonly epoch?: number,
    /** For an activity with a durable deadline: the attempt this is the outcome of. */
    readonly attempt?: number,
    /** For an activity with a durable deadline: the attempt failed and the engine decides the retry. */
    readonly retryable?: boolean,
  ) {}
}

/** A durable timer of a workflow (a `sleep`, or the timeout of a `waitForEvent`). */
@Message('longhaul.workflow.Timer')
export class WorkflowTimer {
  constructor(
    readonly instanceId: string,
    readonly generation: number,
    readonly seq: number,
    /** The instance's reset count when the timer started (absent: 0). */
    readonly epoch?: number,
  ) {}
}

/** The durable timer that retries the replay of a parked instance. */
@Message('longhaul.workflow.Recheck')
export class WorkflowRecheck {
  constructor(readonly instanceId: string) {}
}

/** Asks a parked instance to try its replay again now (`client.resume`). */
@Command('longhaul.workflow.Resume')
export class ResumeWorkflow {
  constructor(readonly instanceId: string) {}
}

/** Rewinds an instance to just after history event `afterEvent` (`client.reset`). */
@Command('longhaul.workflow.Reset')
export class ResetWorkflow {
  constructor(
    readonly instanceId: string,
    readonly afterEvent: number,
    readonly reason: string,
    /** The generation the caller saw: a reset that crosses a `continueAsNew` is refused. */
    readonly generation?: number,
  ) {}
}

/** Runs one attempt of an activity on a worker. */
@Command('longhaul.workflow.ExecuteActivity')
export class ExecuteActivity {
  constructor(
    readonly instanceId: string,
    readonly generation: number,
    readonly seq: number,
    readonly activity: string,
    readonly input: unknown,
    readonly attempt: number,
    readonly retry: ResolvedRetryPolicy,
    readonly replyTo: string,
    /** The instance's reset count when the activity was scheduled (absent: 0). */
    readonly epoch?: number,
    /**
     * Set for an activity with a durable deadline: its timeouts, in milliseconds. The engine then
     * owns the retries (the worker reports each attempt's failure) and fails an attempt that passes them.
     */
    readonly timeouts?: ActivityTimeouts,
    /** The details of the last heartbeat of an earlier attempt. */
    readonly heartbeatDetails?: unknown,
  ) {}
}

/** The timeouts of an activity with a durable deadline, in milliseconds. */
export interface ActivityTimeouts {
  readonly startToCloseMs?: number;
  readonly heartbeatMs?: number;
}

/** An activity attempt is alive, with its progress (`context.heartbeat(details)`). */
@Command('longhaul.workflow.ActivityHeartbeat')
export class ActivityHeartbeat {
  constructor(
    readonly instanceId: string,
    readonly generation: number,
    readonly seq: number,
    readonly attempt: number,
    readonly details: unknown,
    readonly epoch?: number,
  ) {}
}

/** Aborts an activity attempt running on a worker (the workflow was cancelled or ended). */
@Command('longhaul.workflow.CancelActivity')
export class CancelActivity {
  constructor(
    readonly instanceId: string,
    readonly generation: number,
    readonly seq: number,
    readonly reason: string,
    readonly epoch?: number,
  ) {}
}
