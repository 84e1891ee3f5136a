/**
 * Conversions between {@link WireMessage}s and AMQP messages. The envelope travels in AMQP headers
 * (all strings) plus the `messageId` property; whatever arrives, however odd, converts without
 * throwing, so the endpoint (not the transport) decides that a message is undecodable.
 */
import { type Message, type MessageProperties, type Options } from 'amqplib';
import { type WireMessage } from '../../messages/codec.js';
import { Headers } from '../../messages/envelope.js';

/** Headers the broker adds when dead-lettering or redelivering; they are not part of the message. */
const BROKER_HEADERS = new Set([
  'x-death',
  'x-first-death-exchange',
  'x-first-death-queue',
  'x-first-death-reason',
  'x-last-death-exchange',
  'x-last-death-queue',
  'x-last-death-reason',
  'x-delivery-count',
]);

/** amqplib's `{ '!': type, value }` form (timestamps, decimals…): a timestamp as ISO text, a scalar as text. */
function typedText(value: Record<string, unknown> | null): string | undefined {
  if (value === null || typeof value['!'] !== 'string') return undefined;
  const inner = value['value'];
  if (value['!'] === 'timestamp' && typeof inner === 'number') {
    const date = new Date(inner * 1000);
    return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
  }
  return typeof inner === 'number' || typeof inner === 'bigint' || typeof inner === 'string'
    ? String(inner)
    : undefined;
}

/** A header value as a string, or `undefined` when it has no sensible text form (tables, arrays, null). */
function headerText(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(value);
    case 'object':
      if (Buffer.isBuffer(value)) return value.toString('utf8');
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
      return typedText(value as Record<string, unknown> | null);
    default:
      return undefined;
  }
}

/** AMQP headers as string headers: non-string values stringified, tables and arrays dropped. */
export function headersOf(raw: unknown): Record<string, string> {
  const headers: Record<string, string> = {};
  if (raw === null || typeof raw !== 'object') return headers;
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (BROKER_HEADERS.has(key)) continue;
    const text = headerText(value);
    if (text !== undefined) headers[key] = text;
  }
  return headers;
}

/** The wire message carried by an AMQP delivery; a missing or odd `messageId` becomes `''`. */
export function wireOf(message: Pick<Message, 'content' | 'properties'>): WireMessage {
  const properties = (message.properties ?? {}) as Partial<MessageProperties>;
  const id = properties.messageId as unknown;
  return {
    messageId: typeof id === 'string' ? id : '',
    headers: headersOf(properties.headers),
    body: Buffer.isBuffer(message.content) ? message.content : Buffer.alloc(0),
  };
}

/** Publish properties for a new wire message: persistent, with its id, type and JSON content type. */
export function propertiesOf(message: WireMessage): Options.Publish {
  const type = message.headers[Headers.type];
  return {
    persistent: true,
    messageId: message.messageId,
    contentType: 'application/json',
    ...(type !== undefined ? { type } : {}),
    timestamp: Math.floor(Date.now() / 1000),
    headers: { ...message.headers },
  };
}

/**
 * Publish properties for moving a received message elsewhere (retry, error, replay): its own
 * properties kept, the headers replaced, persistent, and any per-message `expiration` dropped so
 * the copy cannot expire where it lands.
 */
export function movedPropertiesOf(
  original: Partial<MessageProperties> | undefined,
  messageId: string,
  headers: Readonly<Record<string, string>>,
): Options.Publish {
  const properties: Options.Publish = { persistent: true, headers: { ...headers } };
  if (messageId !== '') properties.messageId = messageId;
  const keep = ['contentType', 'contentEncoding', 'correlationId', 'replyTo', 'type', 'appId'] as const;
  for (const key of keep) {
    const value = original?.[key] as unknown;
    if (typeof value === 'string') properties[key] = value;
  }
  if (typeof original?.timestamp === 'number') properties.timestamp = original.timestamp;
  if (typeof original?.priority === 'number') properties.priority = original.priority;
  return properties;
}
