/**
 * # The RabbitMQ transport
 *
 * Implements the {@link Transport} port on RabbitMQ (AMQP 0-9-1, amqplib).
 *
 * Topology (every name starts with the `prefix` option; all durable, declared idempotently):
 * - `<prefix><exchange>`: one topic exchange for events; routing key = message type.
 * - `<prefix><endpoint>`: the endpoint's queue, bound to each event type it subscribes to.
 *   Commands are sent straight to it (default exchange, `mandatory`).
 * - `<prefix><endpoint>.retry.<ms>ms`: one queue per distinct retry delay, declared on first use,
 *   with `x-message-ttl` = the delay and dead-lettering back to the endpoint queue. Every message
 *   in it waits the same time, so none blocks behind another (unlike per-message expiration).
 * - `<prefix><endpoint>.error`: the error queue; see {@link RabbitMqErrorQueues}.
 * - Queue type `classic` (default) or `quorum`, for all of them.
 * - A partitioned endpoint has N partition queues behind a consistent-hash exchange instead of
 *   its one queue; see `partition-topology.ts`.
 *
 * Guarantees:
 * - `publish`/`send` resolve only once the broker confirmed the persistent message (confirm
 *   channel, many publishes in flight). A nack, an unroutable `send` (no such endpoint queue) or
 *   the publish timeout rejects; a publish cut off by a dropped connection is repeated on the new
 *   one (at-least-once).
 * - A delivery is acknowledged only after its disposition was carried out: the retry or error copy
 *   confirmed by the broker first. A handler that throws requeues the message.
 * - Acks go to the channel the delivery came on. After a lost connection, deliveries still in
 *   flight are neither acked nor copied: the broker redelivers them, and the endpoint's inbox
 *   dedupes what was already committed.
 * - Reconnection with exponential backoff and jitter; topology re-declared and consumers
 *   re-established on the new connection. TCP `noDelay` and AMQP heartbeats are on.
 * - `Consumer.stop()` cancels the subscription, requeues prefetched deliveries that never started,
 *   waits for the handlers in flight to finish and settle, then closes the channel.
 * - Any AMQP input converts to a {@link WireMessage} without throwing (missing id → `''`, odd header
 *   values stringified or dropped); deciding it is undecodable is the endpoint's business.
 *
 * Non-goals: ordering; exactly-once delivery (the saga inbox/outbox gives exactly-once effects);
 * removing bindings of event types an endpoint no longer handles (AMQP cannot list bindings;
 * unbind them with the management tools); the delayed-message plugin; publisher-side batching of
 * messages into one frame.
 */
import { UnroutableError } from '../../errors.js';
import { type WireMessage } from '../../messages/codec.js';
import { Headers } from '../../messages/envelope.js';
import {
  type ConsumeOptions,
  type Consumer,
  type DeliveryHandler,
  type EndpointTopology,
  type Transport,
} from '../transport.js';
import { ConnectionManager } from './connection.js';
import { RabbitMqConsumer } from './consumer.js';
import { RabbitMqErrorQueues } from './error-queue.js';
import { TransportClosedError } from './errors.js';
import {
  type RabbitMqTransportOptions,
  type ResolvedRabbitMqOptions,
  resolveRabbitMqOptions,
} from './options.js';
import { ConfirmPublisher, type PublishTarget } from './publisher.js';
import { partitionName } from './partition-topology.js';
import { checkEndpointName, Topology, TopologyNames } from './topology.js';
import { propertiesOf } from './wire.js';

/**
 * The RabbitMQ {@link Transport}: see the file header for the topology, guarantees and non-goals.
 * The options are validated in the constructor (a `ConfigurationError` names the bad field); the
 * connection opens on {@link RabbitMqTransport.start} or the first operation, and a wrong URL,
 * credentials or vhost fails there with a {@link RabbitMqConnectionError} that says which.
 * @example
 * ```ts
 * const transport = new RabbitMqTransport({ url: process.env.RABBITMQ_URL, queueType: 'quorum' });
 * const endpoint = new Endpoint({ name: 'shop', sagas: [OrderFulfilment], transport });
 * await endpoint.start();
 * // …
 * await endpoint.stop();
 * await transport.close();
 * ```
 */
export class RabbitMqTransport implements Transport {
  /** The `messaging.system` of its spans. */
  readonly messagingSystem = 'rabbitmq';
  /** The validated options. */
  readonly options: ResolvedRabbitMqOptions;
  /** Names of the exchange and queues. */
  readonly names: TopologyNames;
  /** List, show and replay the messages in error queues. */
  readonly errorQueues: RabbitMqErrorQueues;
  private readonly connection: ConnectionManager;
  private readonly topology: Topology;
  private readonly publisher: ConfirmPublisher;
  private readonly consumers = new Set<RabbitMqConsumer>();
  private closing?: Promise<void>;

  constructor(options: RabbitMqTransportOptions = {}) {
    this.options = resolveRabbitMqOptions(options);
    this.names = new TopologyNames(this.options.prefix, this.options.exchange);
    this.connection = new ConnectionManager(this.options);
    this.topology = new Topology(this.connection, this.names, this.options.queueType);
    this.publisher = new ConfirmPublisher(this.connection, this.options);
    this.errorQueues = new RabbitMqErrorQueues(this.connection, this.publisher, this.names, (endpoint) =>
      this.targetOf(endpoint),
    );
  }

  /** Opens the connection now (otherwise the first operation does); rejects naming the problem. */
  async start(): Promise<void> {
    this.checkOpen();
    await this.connection.start();
  }

  async declareEndpoint(topology: EndpointTopology): Promise<void> {
    this.checkOpen();
    await this.connection.start();
    await this.topology.declareEndpoint(topology);
  }

  async publish(message: WireMessage): Promise<void> {
    this.checkOpen();
    const type = message.headers[Headers.type];
    if (type === undefined || type === '') {
      throw new UnroutableError(
        `Message ${message.messageId} has no '${Headers.type}' header to route it by`,
      );
    }
    await this.topology.ensureExchange();
    await this.publisher.publish(
      {
        exchange: this.names.exchange,
        routingKey: type,
        mandatory: false,
        describe: `exchange '${this.names.exchange}'`,
      },
      message.body,
      propertiesOf(message),
    );
  }

  async send(message: WireMessage, endpoint: string): Promise<void> {
    this.checkOpen();
    try {
      checkEndpointName(endpoint);
    } catch (error) {
      throw new UnroutableError((error as Error).message, { cause: error });
    }
    await this.publisher.publish(await this.targetOf(endpoint), message.body, propertiesOf(message));
  }

  /** Where a message for `endpoint` goes: its queue, or a partitioned endpoint's hash exchange. */
  private async targetOf(endpoint: string): Promise<PublishTarget> {
    if (await this.topology.partitioned(endpoint)) {
      const exchange = this.names.partitionExchange(endpoint);
      // Unroutable (mandatory) only if the exchange lost its partition queues' bindings.
      return { exchange, routingKey: '', mandatory: true, describe: `partitioned endpoint '${endpoint}'` };
    }
    const queue = this.names.queue(endpoint);
    return {
      exchange: '',
      routingKey: queue,
      mandatory: true,
      describe: `endpoint '${endpoint}' (queue '${queue}')`,
    };
  }

  async consume(endpoint: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<Consumer> {
    this.checkOpen();
    const { concurrency } = options;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`concurrency must be an integer >= 1, got ${String(concurrency)}`);
    }
    const prefetch =
      this.options.endpointPrefetch[endpoint] ??
      options.prefetch ??
      this.options.prefetch ??
      Math.min(concurrency, 65_535);
    // A partition's queue; its retry queues dead-letter back to it.
    const queueName = options.partition === undefined ? endpoint : partitionName(endpoint, options.partition);
    const consumer = new RabbitMqConsumer(
      {
        connection: this.connection,
        publisher: this.publisher,
        topology: this.topology,
        logger: this.options.logger,
        backoff: this.options.reconnect,
      },
      endpoint,
      this.names.queue(queueName),
      handler,
      concurrency,
      prefetch,
      (stopped) => this.consumers.delete(stopped),
      queueName,
    );
    await consumer.start();
    this.consumers.add(consumer);
    return consumer;
  }

  /** Stops consumers still running (they should have been stopped), then closes channels and connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.consumers].map((consumer) => consumer.stop()));
      await this.publisher.close();
      await this.connection.close();
    })();
    return this.closing;
  }

  /** Names of the exchange and queues this instance declared so far. */
  declaredTopology(): {
    readonly exchange?: string;
    readonly queues: readonly string[];
    readonly exchanges: readonly string[];
  } {
    return this.topology.declared();
  }

  /**
   * Deletes every queue (with its messages) and the exchange this instance declared. For tests,
   * benchmarks and throwaway environments; stop the consumers first.
   */
  async deleteDeclaredTopology(): Promise<void> {
    this.checkOpen();
    await this.topology.deleteDeclared();
  }

  private checkOpen(): void {
    if (this.closing) throw new TransportClosedError();
  }
}
