import { type MessageCodec } from '../messages/codec.js';
import { type Envelope } from '../messages/envelope.js';
import { messageTypeOfInstance } from '../messages/registry.js';
import { type OutboxEntry } from '../persistence/saga-store.js';
import { derivedId } from '../util/ids.js';
import { withActiveContext } from '../telemetry/propagation.js';
import { type Router } from './router.js';

/** Options for one outgoing message. */
export interface OutgoingOptions {
  /** Extra headers (keys starting with `longhaul.` are reserved). */
  headers?: Record<string, string>;
}

/** Options of `send`. */
export interface SendOptions extends OutgoingOptions {
  /** The destination endpoint, overriding the routes. */
  to?: string;
}

/**
 * Collects what one handler run emits as outbox entries, each with an id derived from the incoming
 * message id, the handling instance and its position, so a rerun reproduces the same ids.
 */
export class OutgoingCollector {
  readonly entries: OutboxEntry[] = [];
  /** Positions taken before this run (see {@link OutgoingCollector.skipTo}). */
  private offset = 0;

  constructor(
    private readonly incoming: Envelope,
    /** Identifies the handling instance, e.g. `saga:OrderFulfilment:<id>` or `handler:Payments`. */
    private readonly scope: string,
    private readonly codec: MessageCodec,
    private readonly router: Router,
    private readonly now: Date,
  ) {}

  /** The id the next entry will get. */
  nextId(): string {
    return derivedId(this.incoming.id, this.scope, this.position);
  }

  /** The position the next entry takes. */
  get position(): number {
    return this.offset + this.entries.length;
  }

  /**
   * Starts the next entry at `position` or later: a rerun of a handling whose first entries were
   * already committed (a workflow step's checkpoint) must not give their ids to other messages.
   */
  skipTo(position: number): void {
    this.offset = Math.max(this.offset, position - this.entries.length);
  }

  /** The endpoint that owns `message`'s type, from the routes. */
  destinationOf(message: object): string {
    return this.router.destinationOf(messageTypeOfInstance(message).name);
  }

  publish(message: object, options: OutgoingOptions = {}): OutboxEntry {
    return this.add('publish', this.envelope(message, options));
  }

  send(message: object, options: SendOptions = {}): OutboxEntry {
    const envelope = this.envelope(message, options);
    return this.add('send', envelope, {
      destination: options.to ?? this.router.destinationOf(envelope.type),
    });
  }

  /** A timeout message returning to `destination` at `dueAt`, with the given routing headers. */
  schedule(message: object, dueAt: Date, destination: string, headers: Record<string, string>): OutboxEntry {
    return this.add('schedule', this.envelope(message, { headers }), { destination, dueAt });
  }

  cancel(timeoutId: string): OutboxEntry {
    const entry: OutboxEntry = {
      id: this.nextId(),
      operation: 'cancel',
      timeoutId,
      sourceMessageId: this.incoming.id,
      createdAt: this.now,
    };
    this.entries.push(entry);
    return entry;
  }

  private envelope(message: object, options: OutgoingOptions): Envelope {
    const type = messageTypeOfInstance(message);
    return {
      id: this.nextId(),
      type: type.name,
      correlationId: this.incoming.correlationId,
      conversationId: this.incoming.conversationId,
      causationId: this.incoming.id,
      sentAt: this.now,
      // The handling's span, so the message continues its trace wherever and whenever it is sent.
      headers: withActiveContext({ ...options.headers }),
      body: message,
    };
  }

  private add(
    operation: OutboxEntry['operation'],
    envelope: Envelope,
    extra: Partial<Pick<OutboxEntry, 'destination' | 'dueAt'>> = {},
  ): OutboxEntry {
    const entry: OutboxEntry = {
      id: envelope.id,
      operation,
      message: this.codec.encodeText(envelope),
      sourceMessageId: this.incoming.id,
      createdAt: this.now,
      ...extra,
    };
    this.entries.push(entry);
    return entry;
  }
}
