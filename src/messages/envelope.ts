/**
 * A message with its metadata, as handlers see it and as the codec encodes it.
 */
export interface Envelope<T extends object = object> {
  /** Unique id; deterministic for messages a handler emits, so redelivery reproduces it. */
  readonly id: string;
  /** The stable message type name (e.g. `shop.OrderPlaced`). */
  readonly type: string;
  /** Id shared by every message of one business conversation (the first message's correlation id). */
  readonly correlationId: string;
  /** Id of the message whose handling emitted this one, if any. */
  readonly causationId?: string;
  /** Id of the conversation (the first message's id), carried unchanged. */
  readonly conversationId: string;
  /** When the message was sent. */
  readonly sentAt: Date;
  /** Free-form string headers; keys starting with `longhaul.` are reserved. */
  readonly headers: Readonly<Record<string, string>>;
  /** The message itself, an instance of its class. */
  readonly body: T;
}

/** Header names Longhaul reads and writes. */
export const Headers = {
  type: 'longhaul.type',
  correlationId: 'longhaul.correlation-id',
  causationId: 'longhaul.causation-id',
  conversationId: 'longhaul.conversation-id',
  sentAt: 'longhaul.sent-at',
  /** The body's version (`@Event(name, { version })`); absent means 1. */
  version: 'longhaul.version',
  /** Set on timeout messages: the saga type and instance id they return to. */
  sagaType: 'longhaul.saga-type',
  sagaId: 'longhaul.saga-id',
  /** The endpoint a message was sent from / should reply to. */
  replyTo: 'longhaul.reply-to',
  /** What a partitioned endpoint hashes to pick a partition (see `messages/partition-key.ts`). */
  partitionKey: 'longhaul.partition-key',
  /** Delayed retries already made. */
  delayedRetries: 'longhaul.delayed-retries',
  /** Error queue headers. */
  errorReason: 'longhaul.error.reason',
  errorMessage: 'longhaul.error.message',
  errorStack: 'longhaul.error.stack',
  errorAttempts: 'longhaul.error.attempts',
  errorSource: 'longhaul.error.source',
  errorTime: 'longhaul.error.time',
} as const;
