/**
 * # The transport port
 *
 * Moves {@link WireMessage}s between endpoints. Implementations: `InMemoryTransport`
 * (`bus/memory/`, one process) and the RabbitMQ transport (`bus/rabbitmq/`).
 *
 * Guarantees every implementation gives:
 * - **At-least-once delivery.** A message whose `publish`/`send` promise resolved is durable and
 *   reaches every endpoint queue it was routed to at least once; a consumer may see it again
 *   (redelivery after a crash, a lost connection or a `retry`). Consumers dedupe on `messageId`.
 * - **Routing.** `publish` delivers to every endpoint that subscribed to the message's type (header
 *   `longhaul.type`) and only those; `send` delivers to the named endpoint's queue.
 * - **Loud failure.** `send` to an endpoint whose queue does not exist, or a publish the broker
 *   refuses, rejects with an error; it is never a silent loss.
 * - **Dispositions are applied.** What the {@link DeliveryHandler} returns is carried out before the
 *   delivery is acknowledged: `retry` re-delivers the message after at least `delayMs` with the
 *   given headers; `error` moves it to the endpoint's error queue with the given headers.
 *   A handler that throws leaves the message to be delivered again.
 * - **Graceful stop.** {@link Consumer.stop} stops taking new deliveries and resolves once the
 *   handlers in flight have finished and their dispositions were applied.
 *
 * - **Partitions.** On a partitioned endpoint ({@link EndpointTopology.partitions}) every message
 *   with one partition key lands on the same partition queue, and `send`/`publish` reach it
 *   without the sender knowing the endpoint is partitioned; a delayed retry returns to the same
 *   partition; the error queue stays one per endpoint.
 *
 * Non-goals: ordering (none across messages, even on one queue, once concurrency > 1 or retries
 * happen; a partition consumed with concurrency 1 keeps one publisher's order until a retry), exactly-once delivery (the saga commit path makes effects exactly-once), request/reply.
 */
import { type WireMessage } from '../messages/codec.js';

/** What a transport needs to know about an endpoint to declare its queues and bindings. */
export interface EndpointTopology {
  /** The endpoint name; its input queue, retry path and error queue derive from it. */
  readonly name: string;
  /** Event types (message names) whose publications this endpoint receives. */
  readonly subscriptions: readonly string[];
  /**
   * A partitioned endpoint: this many queues (`<name>.p0` …), each message routed to one by the
   * hash of its `longhaul.partition-key` header, instead of one queue. Consume them one by one
   * with {@link ConsumeOptions.partition}. @defaultValue one queue
   */
  readonly partitions?: number;
}

/** One message handed to a consumer. */
export interface Delivery {
  readonly message: WireMessage;
  /** True when the transport knows this delivery was made before (a hint only). */
  readonly redelivered: boolean;
}

/** What to do with a delivery once the handler is done. */
export type Disposition =
  | { readonly kind: 'ack' }
  | { readonly kind: 'retry'; readonly delayMs: number; readonly headers: Readonly<Record<string, string>> }
  | { readonly kind: 'error'; readonly headers: Readonly<Record<string, string>> };

/** Handles one delivery; resolves with what to do with it. */
export type DeliveryHandler = (delivery: Delivery) => Promise<Disposition>;

/** A running consumer. */
export interface Consumer {
  /** Stops taking deliveries; resolves when in-flight handlers finished (graceful drain). */
  stop(): Promise<void>;
}

/** Options of {@link Transport.consume}. */
export interface ConsumeOptions {
  /** Handlers running at once on this consumer. */
  readonly concurrency: number;
  /** Consume this partition's queue of a partitioned endpoint (0 to partitions - 1). @defaultValue the endpoint's one queue */
  readonly partition?: number;
  /** Deliveries held unacknowledged, when the transport has such a setting. @defaultValue the transport's own */
  readonly prefetch?: number;
}

/** The transport port; see the file header for the contract. */
export interface Transport {
  /** The `messaging.system` its spans report (`rabbitmq`). Optional. */
  readonly messagingSystem?: string;
  /** Declares the endpoint's queues and subscriptions. Idempotent; call before consuming. */
  declareEndpoint(topology: EndpointTopology): Promise<void>;
  /** Publishes an event to every subscribed endpoint; resolves once the message is durable. */
  publish(message: WireMessage): Promise<void>;
  /** Sends a message to one endpoint's queue; rejects if that endpoint does not exist. */
  send(message: WireMessage, endpoint: string): Promise<void>;
  /** Starts handling the endpoint's queue. */
  consume(endpoint: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<Consumer>;
  /** Opens connections now, failing with the reason (a send-only endpoint's start calls it). Optional. */
  start?(): Promise<void>;
  /** Closes connections; consumers must have been stopped first. */
  close(): Promise<void>;
}
