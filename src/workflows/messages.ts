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
    readonly parent?: { readonly instanceId: string; readonly seq: number; readonly generation: number },
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
  ) {}
}

/** A durable timer of a workflow (a `sleep`, or the timeout of a `waitForEvent`). */
@Message('longhaul.workflow.Timer')
export class WorkflowTimer {
  constructor(
    readonly instanceId: string,
    readonly generation: number,
    readonly seq: number,
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
  ) {}
}
