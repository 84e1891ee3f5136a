export {
  Workflow,
  Activity,
  activity,
  type ActivityRef,
  type ActivityClass,
  type ActivityFunction,
  type ActivityContext,
  type ActivityExecute,
  type WorkflowClass,
  type WorkflowRun,
} from './definitions.js';
export {
  type WorkflowContext,
  type ActivityOptions,
  type RetryPolicy,
  type StepOptions,
  type StepInfo,
  type WorkflowInfo,
  OperationFailedError,
  NonDeterminismError,
  CtxAfterSuspensionError,
} from './context.js';
export { ActivityTimeoutError } from './activity-attempt.js';
export { PayloadTooLargeError, type WorkflowHistoryOptions, type HistoryThreshold } from './limits.js';
export { type WorkflowCacheOptions } from './run-cache.js';
export { WorkflowClient, type WorkflowStatus, type WorkflowListFilter } from './client.js';
export {
  type WorkflowStatusName,
  type HistoryEvent,
  type HistoryEventBody,
  type OperationKind,
  type ParkedInfo,
} from './history.js';
export { type FailureInfo } from './messages.js';
export { WORKFLOW_SAGA } from './engine.js';
