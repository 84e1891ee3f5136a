/**
 * The names Longhaul's spans, attributes and metrics use (docs/observability.md lists them in
 * tables). Messaging attributes follow the OpenTelemetry messaging semantic conventions; the
 * `longhaul.*` ones are Longhaul's own.
 */

/** The instrumentation scope of every tracer and meter Longhaul creates. */
export const SCOPE = 'longhaul';

/** Span attribute keys. */
export const Attr = {
  system: 'messaging.system',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  destination: 'messaging.destination.name',
  routingKey: 'messaging.rabbitmq.destination.routing_key',
  messageId: 'messaging.message.id',
  conversationId: 'messaging.message.conversation_id',
  bodySize: 'messaging.message.body.size',
  messageType: 'longhaul.message.type',
  endpoint: 'longhaul.endpoint',
  outcome: 'longhaul.outcome',
  delayedRetries: 'longhaul.delayed_retries',
  attempts: 'longhaul.attempts',
  sagaType: 'longhaul.saga.type',
  sagaId: 'longhaul.saga.id',
  sagaVersion: 'longhaul.saga.version',
  sagaResult: 'longhaul.saga.result',
  conflicts: 'longhaul.saga.conflicts',
  handler: 'longhaul.handler',
  dueAt: 'longhaul.timeout.due_at',
  latenessMs: 'longhaul.timeout.lateness_ms',
  linkReason: 'longhaul.link.reason',
  workflowType: 'longhaul.workflow.type',
  workflowId: 'longhaul.workflow.id',
  historyLength: 'longhaul.workflow.history_length',
  activity: 'longhaul.activity.name',
  activityAttempt: 'longhaul.activity.attempt',
  retryKind: 'longhaul.retry.kind',
  errorReason: 'longhaul.error.reason',
  status: 'longhaul.workflow.status',
} as const;

/** Metric instrument names (units in {@link MetricUnits}). */
export const Metric = {
  handled: 'longhaul.messages.handled',
  handlingDuration: 'longhaul.message.handling.duration',
  conflicts: 'longhaul.saga.commit.conflicts',
  retries: 'longhaul.message.retries',
  errorQueueMoves: 'longhaul.message.error_queue.moves',
  outboxPending: 'longhaul.outbox.pending',
  outboxOldestAge: 'longhaul.outbox.oldest_age',
  timeoutsDelivered: 'longhaul.timeouts.delivered',
  timeoutLateness: 'longhaul.timeout.lateness',
  timeoutsOverdue: 'longhaul.timeouts.overdue',
  workflowInstances: 'longhaul.workflow.instances',
  activityDuration: 'longhaul.activity.duration',
  activityAttempts: 'longhaul.activity.attempts',
} as const;
