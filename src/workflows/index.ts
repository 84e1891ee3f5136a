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
  OperationFailedError,
  NonDeterminismError,
} from './context.js';
export { WorkflowClient, type WorkflowStatus, type WorkflowListFilter } from './client.js';
export { type WorkflowStatusName, type HistoryEvent, type OperationKind } from './history.js';
export { type FailureInfo } from './messages.js';
export { WORKFLOW_SAGA } from './engine.js';
