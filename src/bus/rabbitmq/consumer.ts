import { type Channel, type ConsumeMessage } from 'amqplib';
import { UnroutableError } from '../../errors.js';
import { type Logger } from '../../util/logger.js';
import { type Consumer, type Delivery, type DeliveryHandler, type Disposition } from '../transport.js';
import { backoffDelay, type ConnectionManager } from './connection.js';
import { RabbitMqTopologyError, replyCodeOf, TransportClosedError } from './errors.js';
import { type ConfirmPublisher } from './publisher.js';
import { type Topology } from './topology.js';
import { movedPropertiesOf, wireOf } from './wire.js';

/** What a consumer uses of its transport. */
export interface ConsumerParts {
  readonly connection: ConnectionManager;
  readonly publisher: ConfirmPublisher;
  readonly topology: Topology;
  readonly logger: Logger;
  readonly backoff: { readonly initialDelayMs: number; readonly maxDelayMs: number };
}

/** One subscription: a channel and its consumer tag. Delivery tags are only valid on it. */
interface Session {
  readonly channel: Channel;
  tag?: string;
  closed: boolean;
  readonly whenClosed: Promise<void>;
}

interface Held {
  readonly session: Session;
  readonly message: ConsumeMessage;
}

/**
 * Consumes one endpoint queue on its own channel with manual acks: at most `concurrency` handlers
 * run at once, `prefetch` deliveries are held unacknowledged. A delivery is acknowledged only
 * after its disposition was carried out (retry and error copies confirmed by the broker), on the
 * channel it came on; if that channel is gone, nothing is acked or published and the broker
 * redelivers the message. A lost channel (connection drop, consumer cancelled by the broker) is
 * replaced with backoff until {@link RabbitMqConsumer.stop}.
 */
export class RabbitMqConsumer implements Consumer {
  private session?: Session;
  private readonly held: Held[] = [];
  private inFlight = 0;
  private stopping = false;
  private stopped?: Promise<void>;
  private idleWaiters: (() => void)[] = [];
  private loop?: Promise<void>;
  private wake?: () => void;
  private requestStop: () => void = () => undefined;
  private readonly stopRequested = new Promise<void>((resolve) => (this.requestStop = resolve));

  constructor(
    private readonly parts: ConsumerParts,
    private readonly endpoint: string,
    private readonly queue: string,
    private readonly handler: DeliveryHandler,
    private readonly concurrency: number,
    private readonly prefetch: number,
    private readonly onStopped: (consumer: RabbitMqConsumer) => void,
    /** The name its retry queues derive from and dead-letter back to: the endpoint's, or its partition's. */
    private readonly retryBase = endpoint,
  ) {}

  /** Subscribes; rejects when the queue cannot be consumed (e.g. it was never declared). */
  async start(): Promise<void> {
    const session = await this.subscribe();
    this.loop = this.maintain(session);
  }

  /** Stops taking deliveries, waits for the handlers in flight to finish and settle, then closes. */
  stop(): Promise<void> {
    this.stopped ??= this.drainAndClose();
    return this.stopped;
  }

  private async drainAndClose(): Promise<void> {
    this.stopping = true;
    this.requestStop();
    this.wake?.();
    const session = this.session;
    if (session && !session.closed && session.tag !== undefined) {
      await session.channel.cancel(session.tag).catch(() => undefined);
    }
    // Deliveries prefetched beyond the concurrency never started: give them back at once.
    for (const { session: owner, message } of this.held.splice(0)) this.settle(owner, message, 'requeue');
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    if (session && !session.closed) await session.channel.close().catch(() => undefined);
    await this.loop;
    this.onStopped(this);
  }

  private async subscribe(): Promise<Session> {
    const { connection, topology } = this.parts;
    const live = await connection.ready();
    await topology.ensureEndpoint(this.endpoint);
    const channel = await live.model.createChannel();
    let markClosed: () => void = () => undefined;
    const session: Session = {
      channel,
      closed: false,
      whenClosed: new Promise((resolve) => (markClosed = resolve)),
    };
    channel.on('error', (error: Error) =>
      this.parts.logger.warn('RabbitMQ closed a consumer channel', {
        endpoint: this.endpoint,
        error: error.message,
      }),
    );
    channel.on('close', () => {
      session.closed = true;
      // What the channel held returns to the queue on the broker's side.
      for (let i = this.held.length - 1; i >= 0; i--)
        if (this.held[i]?.session === session) this.held.splice(i, 1);
      markClosed();
    });
    try {
      await channel.prefetch(this.prefetch);
      const { consumerTag } = await channel.consume(
        this.queue,
        (message) => this.onMessage(session, message),
        {
          noAck: false,
        },
      );
      session.tag = consumerTag;
      if (this.stopping) throw new TransportClosedError('The consumer was stopped');
    } catch (error) {
      await channel.close().catch(() => undefined);
      if (replyCodeOf(error) === 404) {
        throw new RabbitMqTopologyError(
          `No queue '${this.queue}' to consume for endpoint '${this.endpoint}': declare the endpoint first`,
          { cause: error },
        );
      }
      throw error;
    }
    this.session = session;
    return session;
  }

  /** Replaces the subscription whenever its channel closes, until stopped. */
  private async maintain(first: Session): Promise<void> {
    let session = first;
    for (;;) {
      await session.whenClosed;
      if (this.stopping) return;
      this.parts.logger.warn('consumer lost its channel; resubscribing', { endpoint: this.endpoint });
      for (let failures = 0; ;) {
        await this.pause(backoffDelay(failures + 1, this.parts.backoff));
        if (this.stopping) return;
        try {
          const next = await Promise.race([this.subscribe(), this.stopRequested.then(() => undefined)]);
          if (next === undefined) return;
          session = next;
          this.parts.logger.info('consumer resubscribed', { endpoint: this.endpoint });
          break;
        } catch (error) {
          if (this.stopping || error instanceof TransportClosedError) return;
          failures++;
          this.parts.logger.warn('consumer could not resubscribe', {
            endpoint: this.endpoint,
            attempt: failures,
            error: (error as Error).message,
          });
        }
      }
    }
  }

  private onMessage(session: Session, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled the consumer (the queue was deleted?): redeclare and resubscribe.
      this.parts.logger.warn('RabbitMQ cancelled the consumer', {
        endpoint: this.endpoint,
        queue: this.queue,
      });
      this.parts.topology.forgetEndpoint(this.endpoint);
      void session.channel.close().catch(() => undefined);
      return;
    }
    if (this.stopping || this.inFlight >= this.concurrency) this.held.push({ session, message });
    else this.run(session, message);
  }

  private run(session: Session, message: ConsumeMessage): void {
    this.inFlight++;
    void this.handle(session, message).finally(() => {
      this.inFlight--;
      while (!this.stopping && this.inFlight < this.concurrency && this.held.length > 0) {
        const next = this.held.shift() as Held;
        if (!next.session.closed) this.run(next.session, next.message);
      }
      if (this.inFlight === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    });
  }

  private async handle(session: Session, message: ConsumeMessage): Promise<void> {
    const delivery: Delivery = { message: wireOf(message), redelivered: message.fields.redelivered === true };
    let disposition: Disposition;
    try {
      disposition = await this.handler(delivery);
    } catch (error) {
      this.parts.logger.warn('handler threw; the message will be delivered again', {
        endpoint: this.endpoint,
        messageId: delivery.message.messageId,
        error: (error as Error).message,
      });
      this.settle(session, message, 'requeue');
      return;
    }
    try {
      await this.apply(session, message, delivery, disposition);
      this.settle(session, message, 'ack');
    } catch (error) {
      this.parts.logger.warn('could not carry out the disposition; the message will be delivered again', {
        endpoint: this.endpoint,
        messageId: delivery.message.messageId,
        disposition: disposition.kind,
        error: (error as Error).message,
      });
      this.settle(session, message, 'requeue');
    }
  }

  /** Publishes the retry or error copy (confirmed) before the original is acked. */
  private async apply(
    session: Session,
    message: ConsumeMessage,
    delivery: Delivery,
    disposition: Disposition,
  ): Promise<void> {
    if (disposition.kind === 'ack' || session.closed) return;
    const { topology, publisher } = this.parts;
    const { names } = topology;
    const headers = { ...delivery.message.headers, ...disposition.headers };
    const properties = movedPropertiesOf(message.properties, delivery.message.messageId, headers);
    let queue: string;
    if (disposition.kind === 'error') queue = names.errorQueue(this.endpoint);
    else if (disposition.delayMs <= 0) queue = this.queue;
    else queue = await topology.retryQueue(this.retryBase, Math.ceil(disposition.delayMs));
    // The connection may have dropped meanwhile: the broker then redelivers the original, so
    // publishing a copy now would only duplicate it.
    if (session.closed) return;
    try {
      await publisher.publish(
        { exchange: '', routingKey: queue, mandatory: true, describe: `queue '${queue}'` },
        message.content,
        properties,
      );
    } catch (error) {
      if (error instanceof UnroutableError) topology.forgetRetryQueue(queue);
      throw error;
    }
  }

  /** Acks or requeues on the delivery's own channel; a closed channel means the broker requeued it. */
  private settle(session: Session, message: ConsumeMessage, how: 'ack' | 'requeue'): void {
    if (session.closed) {
      this.parts.logger.debug('delivery outlived its channel; the broker redelivers it', {
        endpoint: this.endpoint,
        messageId: message.properties.messageId as unknown,
      });
      return;
    }
    try {
      if (how === 'ack') session.channel.ack(message);
      else session.channel.nack(message, false, true);
    } catch (error) {
      this.parts.logger.debug('could not settle a delivery; the broker redelivers it', {
        endpoint: this.endpoint,
        error: (error as Error).message,
      });
    }
  }

  private pause(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
