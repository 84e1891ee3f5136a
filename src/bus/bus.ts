import { rootError } from '../errors.js';
import { type MessageCodec } from '../messages/codec.js';
import { type Envelope } from '../messages/envelope.js';
import { messageTypeOfInstance } from '../messages/registry.js';
import { type OutboxEntry } from '../persistence/saga-store.js';
import { type Duration, toMillis } from '../util/duration.js';
import { newId } from '../util/ids.js';
import { withActiveContext } from '../telemetry/propagation.js';
import { type OutgoingOptions, type SendOptions } from './outgoing.js';
import { type Router } from './router.js';

/** Options for a message sent from outside a handler. */
export interface BusOptions extends OutgoingOptions {
  /** The message id; pass a stable one to make a retried call idempotent downstream. @defaultValue a new UUID */
  messageId?: string;
  /** The correlation id. @defaultValue the message id */
  correlationId?: string;
}

/**
 * Sends and publishes from outside a saga or handler (an HTTP controller, a script). Inject it
 * from the container. Unlike messages emitted inside handlers, these are not part of a commit:
 * each call resolves once the transport accepted the message.
 * @example
 * ```ts
 * const bus = container.get(Bus);
 * await bus.publish(new OrderPlaced('o-1', 42));
 * ```
 */
export class Bus {
  /** @internal */
  constructor(
    private readonly codec: MessageCodec,
    private readonly router: Router,
    private readonly now: () => Date,
    private readonly dispatch: (entries: readonly OutboxEntry[]) => Promise<unknown>,
    private readonly endpoint: string,
  ) {}

  /** Publishes an event to every subscribed endpoint. */
  async publish(message: object, options: BusOptions = {}): Promise<string> {
    return this.emit('publish', message, options);
  }

  /** Sends a command to the endpoint that owns it. */
  async send(message: object, options: BusOptions & SendOptions = {}): Promise<string> {
    const type = messageTypeOfInstance(message).name;
    return this.emit('send', message, options, {
      destination: options.to ?? this.router.destinationOf(type),
    });
  }

  /** Delivers a command to its owner later (`after` a duration or `at` a date), surviving restarts. */
  async schedule(
    message: object,
    when: { after: Duration } | { at: Date },
    options: BusOptions & SendOptions = {},
  ): Promise<string> {
    const type = messageTypeOfInstance(message).name;
    const dueAt = 'at' in when ? when.at : new Date(this.now().getTime() + toMillis(when.after, 'after'));
    return this.emit('schedule', message, options, {
      destination: options.to ?? this.router.destinationOf(type),
      dueAt,
    });
  }

  private async emit(
    operation: OutboxEntry['operation'],
    message: object,
    options: BusOptions,
    extra: Partial<OutboxEntry> = {},
  ): Promise<string> {
    const id = options.messageId ?? newId();
    const now = this.now();
    const envelope: Envelope = {
      id,
      type: messageTypeOfInstance(message).name,
      correlationId: options.correlationId ?? id,
      conversationId: id,
      sentAt: now,
      headers: withActiveContext({ ...options.headers, 'longhaul.origin': this.endpoint }),
      body: message,
    };
    try {
      await this.dispatch([
        {
          id,
          operation,
          message: this.codec.encodeText(envelope),
          sourceMessageId: id,
          createdAt: now,
          ...extra,
        },
      ]);
    } catch (error) {
      throw rootError(error); // the transport's own error (e.g. UnroutableError), not the dispatch wrapper
    }
    return id;
  }
}
