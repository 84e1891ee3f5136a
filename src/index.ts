/**
 * Longhaul: message-driven sagas and durable workflows on RabbitMQ and MongoDB, with exactly-once
 * effects through an outbox and inbox committed with the state in one conditional write.
 * @packageDocumentation
 */
import 'reflect-metadata';

export {
  LonghaulError,
  NonRetryableError,
  ConcurrencyError,
  DecodeError,
  type DecodeFailure,
  ConfigurationError,
  SagaNotFoundError,
  UnroutableError,
} from './errors.js';

export {
  Event,
  Command,
  Message,
  MessageRegistry,
  defaultRegistry,
  messageTypeOf,
  type MessageClass,
  type MessageKind,
  type MessageOptions,
  type MessageType,
  type MessageValidator,
} from './messages/registry.js';
export {
  type MessageUpcaster,
  type UpcastContext,
  type MessageDefinitionProblem,
} from './messages/registry.js';
export { type Envelope, Headers } from './messages/envelope.js';
export { MessageCodec, type CodecOptions, type WireMessage, toJson, fromJson } from './messages/codec.js';

export {
  type Transport,
  type EndpointTopology,
  type Delivery,
  type Disposition,
  type DeliveryHandler,
  type Consumer,
  type ConsumeOptions,
} from './bus/transport.js';
export { Bus, type BusOptions } from './bus/bus.js';
export { type OutgoingOptions, type SendOptions } from './bus/outgoing.js';
export {
  InMemoryTransport,
  type InMemoryTransportOptions,
  type TransportRecord,
} from './bus/memory/in-memory-transport.js';

export {
  type SagaStore,
  type SagaRecord,
  type SagaCommit,
  type StateAppend,
  type KnownItems,
  type FindOptions,
  type OutboxEntry,
  type StoredMessage,
  type PendingTimeout,
  type InstanceFilter,
  type OutboxClaim,
  type OutboxDeadLetter,
  type OutboxDeadLetterStore,
} from './persistence/saga-store.js';
export { InMemorySagaStore } from './persistence/memory/in-memory-saga-store.js';
export { InMemoryDeadLetterStore } from './persistence/memory/in-memory-dead-letters.js';
/** Leases on the partitions of a partitioned endpoint (docs/scale-out.md), and the in-memory ones. */
export { type PartitionLeases, type PartitionHolder } from './persistence/partition-leases.js';
export { InMemoryPartitionLeases } from './persistence/memory/in-memory-partition-leases.js';
/** The partition key of a message (`@Event(name, { partitionKey })`). */
export { type PartitionKeyOf } from './messages/partition-key.js';

export {
  type TimeoutStore,
  type TimeoutRecord,
  type ClaimedTimeout,
  type TimeoutClaim,
  type TimeoutFailure,
  type TimeoutDeadLetters,
  type DeadLetteredTimeout,
} from './timeouts/timeout-store.js';
export {
  InMemoryTimeoutStore,
  type InMemoryTimeoutStoreOptions,
} from './timeouts/memory/in-memory-timeout-store.js';

export { Saga, StartedBy, Handles, OnTimeout, type CorrelationOptions } from './sagas/decorators.js';
export { type StartedByOptions, type HandlesOptions, type SagaOptions } from './sagas/decorators.js';
export { ContextSealedError, type SagaContext, type TimeoutWhen } from './sagas/context.js';
export { type SagaNotFoundPolicy, type SagaOutcome } from './sagas/dispatcher.js';
export { type CorrelateBy } from './sagas/metadata.js';
export { type OnExisting, type OnCompleted, type StateUpcaster } from './sagas/metadata.js';

export { HandlerFor, type Handler, type HandlerContext } from './handlers/handler.js';

export { Endpoint } from './endpoint/endpoint.js';
export { type EndpointOptions } from './endpoint/options.js';
export { WorkflowNotHostedError } from './endpoint/workflow-targeting.js';
export { type EndpointCounters } from './endpoint/counters.js';
export { OutboxDeadLetters, type DeadLetterFilter } from './endpoint/outbox-dead-letters.js';
export { type SweepReport } from './endpoint/outbox-sweeper.js';
export { type HandledMessage } from './endpoint/message-dispatcher.js';

export { longhaulModule, LonghaulTypes } from './di/module.js';

export { type Clock, systemClock, VirtualClock } from './util/clock.js';
export { type Duration, toMillis } from './util/duration.js';
export { type Logger, type LogLevel, consoleLogger, silentLogger } from './util/logger.js';
export { withTraceIds } from './telemetry/log-context.js';
export { Attr as TelemetryAttributes, Metric as TelemetryMetrics } from './telemetry/names.js';

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
  type WorkflowContext,
  type ActivityOptions,
  type RetryPolicy,
  OperationFailedError,
  NonDeterminismError,
  WorkflowClient,
  type WorkflowStatus,
  type WorkflowListFilter,
  type WorkflowStatusName,
  type HistoryEvent,
  type OperationKind,
  type FailureInfo,
  WORKFLOW_SAGA,
} from './workflows/index.js';
export { type WorkflowOptions } from './workflows/wiring.js';
export {
  type WorkflowInfo,
  type StepOptions,
  type StepInfo,
  ActivityTimeoutError,
  CtxAfterSuspensionError,
  PayloadTooLargeError,
  type WorkflowHistoryOptions,
  type WorkflowCacheOptions,
  type HistoryThreshold,
  type HistoryEventBody,
  type ParkedInfo,
} from './workflows/index.js';
export {
  replayHistory,
  type HistoryReplayOptions,
  type HistoryReplayResult,
  type ReplayDivergence,
  type ReplayOperation,
  type ReplayEnding,
} from './workflows/replay-check.js';
export {
  parseHistory,
  HistoryFormatError,
  HISTORY_FORMAT,
  type WorkflowHistory,
  type ExportedHistoryEvent,
} from './workflows/history-export.js';

export {
  RabbitMqTransport,
  type RabbitMqTransportOptions,
  type RabbitMqReconnectOptions,
  type QueueType,
  type RabbitMqTlsOptions,
  RabbitMqErrorQueues,
  type ErrorQueueMessage,
  type ReplayResult,
  type ReplaySelection,
  RabbitMqConnectionError,
  type RabbitMqConnectionProblem,
  RabbitMqPublishError,
  RabbitMqTopologyError,
  TransportClosedError,
} from './bus/rabbitmq/index.js';

export {
  MongoSagaStore,
  type MongoSagaStoreOptions,
  MongoPartitionLeases,
  type MongoPartitionLeasesOptions,
  type MongoStoreOptions,
  type StoreWriteConcern,
  MongoStoreUnavailableError,
  CorruptDocumentError,
  UnsupportedValueError,
} from './persistence/mongodb/index.js';
export { MongoTimeoutStore, type MongoTimeoutStoreOptions } from './timeouts/mongodb/index.js';

export {
  type ActionName,
  type ActionOptions,
  type ActionRecord,
  type DedupeWindowView,
  type ErrorActionResult,
  type ErrorMessageView,
  type ErrorQueueAccess,
  type ErrorQueuesApi,
  type ErrorSelection,
  type HistoryEventView,
  INSTANCE_STATUSES,
  type InstanceCount,
  type InstanceCounts,
  type InstanceDetail,
  type InstanceError,
  type InstanceKind,
  type InstanceQuery,
  type InstanceRef,
  type InstancesApi,
  type InstanceStatus,
  type InstanceSummary,
  type OperationsApi,
  type OutboxEntryView,
  type Page,
  type PageRequest,
  type SagaActionsApi,
  type TimeoutView,
  type WorkflowActionsApi,
  type WorkflowDetail,
  OperationsClient,
  type OperationsClientOptions,
  inMemoryErrorQueueAccess,
  rabbitMqErrorQueueAccess,
  errorQueueType,
  InvalidQueryError,
} from './operations/index.js';
export {
  type InstanceAdminStore,
  type InstanceCountRow,
  type InstanceCriteria,
  type StoredAction,
} from './persistence/instance-admin.js';

export {
  Entity,
  EntityOperation,
  EntityClient,
  ENTITY_SAGA,
  entityNameOf,
  type EntityCallOptions,
  type EntityClass,
  type EntityContext,
  type EntityOptions,
  type EntitySnapshot,
  type OperationInput,
  type OperationName,
  type OperationOutput,
} from './entities/index.js';
