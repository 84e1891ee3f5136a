/**
 * The RabbitMQ adapter of the transport port: {@link RabbitMqTransport}, its options, its error
 * queue tooling and its errors.
 * @packageDocumentation
 */
export { RabbitMqTransport } from './rabbitmq-transport.js';
export {
  type RabbitMqTransportOptions,
  type RabbitMqReconnectOptions,
  type QueueType,
  type RabbitMqTlsOptions,
  type ResolvedRabbitMqOptions,
  resolveRabbitMqOptions,
  redactUrl,
  BrokerUrl,
} from './options.js';
export {
  RabbitMqErrorQueues,
  type DeleteResult,
  type ErrorQueueMessage,
  type ReplayResult,
  type ReplaySelection,
} from './error-queue.js';
export {
  RabbitMqConnectionError,
  type RabbitMqConnectionProblem,
  RabbitMqPublishError,
  RabbitMqTopologyError,
  TransportClosedError,
} from './errors.js';
export { TopologyNames } from './topology.js';
