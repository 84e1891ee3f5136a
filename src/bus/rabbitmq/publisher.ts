import { type ConfirmChannel, type Message, type Options } from 'amqplib';
import { UnroutableError } from '../../errors.js';
import { type Logger } from '../../util/logger.js';
import { type ConnectionManager } from './connection.js';
import { RabbitMqPublishError, replyCodeOf, TransportClosedError } from './errors.js';

/** Where a message goes: an exchange and routing key (`''` and a queue name for one queue). */
export interface PublishTarget {
  readonly exchange: string;
  readonly routingKey: string;
  /** The broker returns the message when no queue takes it; the publish then rejects. */
  readonly mandatory: boolean;
  /** Names the destination in errors, e.g. `endpoint 'billing' (queue 'billing')`. */
  readonly describe: string;
}

interface Pending {
  readonly key: string;
  returned?: string;
}

/** One confirm channel and what is in flight on it. */
interface Session {
  readonly channel: ConfirmChannel;
  readonly pending: Set<Pending>;
  closed: boolean;
  closeError?: Error;
  /** Set while the channel's write buffer is full: publishes wait for `drain`. */
  drained?: Promise<void>;
}

type Outcome =
  | { readonly kind: 'confirmed' }
  | { readonly kind: 'returned'; readonly reason: string }
  | { readonly kind: 'nacked' }
  | { readonly kind: 'lost'; readonly error?: unknown };

/** Publish attempts when the channel closes before the broker confirmed (the outcome is unknown). */
const ATTEMPTS = 3;

const keyOf = (exchange: string, routingKey: string, messageId: unknown): string =>
  `${exchange}\u0000${routingKey}\u0000${typeof messageId === 'string' ? messageId : ''}`;

/**
 * Publishes persistent messages on one confirm channel with many publishes in flight: each
 * promise resolves only once the broker confirmed that message. A nack, a return (a `mandatory`
 * message no queue took) or the publish timeout rejects it. When the channel or connection drops
 * before the confirm, the message is published again on a new channel (at-least-once; consumers
 * dedupe on the message id). When `publish()` reports a full write buffer, later publishes wait
 * for `drain`.
 */
export class ConfirmPublisher {
  private current?: Session;
  private opening?: Promise<Session>;

  constructor(
    private readonly connection: ConnectionManager,
    private readonly options: { readonly publishTimeoutMs: number; readonly logger: Logger },
  ) {}

  /** Publishes `content`; resolves once confirmed, rejects with a reason otherwise. */
  async publish(target: PublishTarget, content: Buffer, properties: Options.Publish): Promise<void> {
    const id = properties.messageId ?? '';
    const expiry = { expired: false };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        expiry.expired = true;
        reject(
          new RabbitMqPublishError(
            'timeout',
            `Message ${id} to ${target.describe} was not confirmed within ${this.options.publishTimeoutMs} ms`,
          ),
        );
      }, this.options.publishTimeoutMs);
    });
    try {
      let last: Outcome = { kind: 'lost' };
      for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
        last = await Promise.race([this.attempt(target, content, properties, expiry), timeout]);
        if (last.kind === 'confirmed') return;
        if (last.kind === 'returned') {
          throw new UnroutableError(
            `No queue took message ${id} sent to ${target.describe} (${last.reason})`,
          );
        }
        if (last.kind === 'nacked') {
          throw new RabbitMqPublishError(
            'nacked',
            `RabbitMQ refused (nacked) message ${id} to ${target.describe}`,
          );
        }
        if (this.connection.isClosed) throw new TransportClosedError();
        if (last.kind === 'lost' && replyCodeOf(last.error) === 403) {
          // ACCESS_REFUSED: the user may not write there; a new channel would be refused alike.
          throw new RabbitMqPublishError(
            'access-refused',
            `RabbitMQ refused message ${id} to ${target.describe}: ${(last.error as Error).message}`,
            { cause: last.error },
          );
        }
      }
      const cause = last.kind === 'lost' ? last.error : undefined;
      throw new RabbitMqPublishError(
        'channel-closed',
        `The channel closed ${ATTEMPTS} times before RabbitMQ confirmed message ${id} to ${target.describe}` +
          (cause instanceof Error ? `: ${cause.message}` : ''),
        { cause },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits (briefly) for outstanding confirms, then closes the channel. */
  async close(): Promise<void> {
    const session = this.current;
    this.current = undefined;
    if (!session || session.closed) return;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, 5_000)));
    await Promise.race([session.channel.waitForConfirms().catch(() => undefined), grace]);
    clearTimeout(timer);
    await session.channel.close().catch(() => undefined);
  }

  private async attempt(
    target: PublishTarget,
    content: Buffer,
    properties: Options.Publish,
    expiry: { expired: boolean },
  ): Promise<Outcome> {
    let session: Session;
    try {
      session = await this.session();
      while (session.drained && !session.closed) await session.drained;
    } catch (error) {
      if (error instanceof TransportClosedError) throw error;
      return { kind: 'lost', error };
    }
    if (session.closed) return { kind: 'lost', error: session.closeError };
    if (expiry.expired) return new Promise<Outcome>(() => undefined);
    return new Promise<Outcome>((resolve) => {
      const entry: Pending = { key: keyOf(target.exchange, target.routingKey, properties.messageId) };
      session.pending.add(entry);
      const settle = (error: unknown): void => {
        session.pending.delete(entry);
        if (error === null || error === undefined) {
          resolve(
            entry.returned !== undefined
              ? { kind: 'returned', reason: entry.returned }
              : { kind: 'confirmed' },
          );
        } else if (error instanceof Error && error.message === 'message nacked') {
          resolve({ kind: 'nacked' });
        } else {
          resolve({ kind: 'lost', error: session.closeError ?? error });
        }
      };
      let written: boolean;
      try {
        written = session.channel.publish(
          target.exchange,
          target.routingKey,
          content,
          { ...properties, mandatory: target.mandatory },
          settle,
        );
      } catch (error) {
        session.pending.delete(entry);
        resolve({ kind: 'lost', error });
        return;
      }
      if (!written && !session.drained) this.waitForDrain(session);
    });
  }

  private waitForDrain(session: Session): void {
    session.drained = new Promise<void>((resolve) => {
      const done = (): void => {
        session.drained = undefined;
        session.channel.off('drain', done);
        session.channel.off('close', done);
        resolve();
      };
      session.channel.on('drain', done);
      session.channel.on('close', done);
    });
  }

  private session(): Promise<Session> {
    if (this.current && !this.current.closed) return Promise.resolve(this.current);
    this.opening ??= this.open().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private async open(): Promise<Session> {
    const live = await this.connection.ready();
    const channel = await live.model.createConfirmChannel();
    const session: Session = { channel, pending: new Set(), closed: false };
    channel.on('error', (error: Error) => {
      session.closeError = error;
      this.options.logger.warn('RabbitMQ closed the publish channel', { error: error.message });
    });
    channel.on('close', () => {
      session.closed = true;
      if (this.current === session) this.current = undefined;
    });
    channel.on('return', (message: Message) => {
      // A return precedes the confirm of the same message; match it to the oldest publish alike.
      const key = keyOf(message.fields.exchange, message.fields.routingKey, message.properties.messageId);
      for (const entry of session.pending) {
        if (entry.key === key && entry.returned === undefined) {
          entry.returned = `${message.fields.routingKey}: ${(message.fields as { replyText?: string }).replyText ?? 'unroutable'}`;
          break;
        }
      }
    });
    this.current = session;
    return session;
  }
}
