import { DecodeError } from '../errors.js';
import { type Envelope, Headers } from './envelope.js';
import { partitionKeyOf } from './partition-key.js';
import { defaultRegistry, type MessageRegistry } from './registry.js';
import { upcastBody, versionOf } from './upcast.js';

/**
 * A message as transports and stores carry it: an id, string headers (type, correlation…) and a
 * JSON body. The envelope fields travel in headers so a broker can route on them.
 */
export interface WireMessage {
  readonly messageId: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** A {@link WireMessage} whose body is still JSON text (as outbox entries store it). */
export interface TextMessage {
  readonly messageId: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Options of {@link MessageCodec}. */
export interface CodecOptions {
  /** Largest body accepted, in bytes. @defaultValue 1 MiB */
  maxBodyBytes?: number;
  /** Where message names are looked up. @defaultValue the decorators' registry */
  registry?: MessageRegistry;
}

/** One strict UTF-8 decoder for every body (it keeps no state between `decode` calls). */
const UTF8 = new TextDecoder('utf-8', { fatal: true });
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const DATE_TAG = '$date';
/** A one-key object whose key is `$date`, `$$date`, …: the date tag, or user data that looks like it. */
const TAG_LIKE = /^\$+date$/;

/** The key of a plain one-key object if it looks like the date tag. */
function tagLikeKey(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Date)
    return undefined;
  const keys = Object.keys(value);
  return keys.length === 1 && TAG_LIKE.test(keys[0] as string) ? keys[0] : undefined;
}

function encodeValue(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Date) return { [DATE_TAG]: raw.toISOString() };
  // User data shaped like the tag gets one more `$`, so it can never be read back as a Date.
  const tagLike = tagLikeKey(value);
  return tagLike === undefined ? value : { [`$${tagLike}`]: (value as Record<string, unknown>)[tagLike] };
}

function decodeValue(key: string, value: unknown): unknown {
  if (FORBIDDEN_KEYS.has(key)) {
    throw new DecodeError('forbidden-key', `The body contains the forbidden key '${key}'`);
  }
  const tagLike = tagLikeKey(value);
  if (tagLike === undefined) return value;
  const inner = (value as Record<string, unknown>)[tagLike];
  if (tagLike !== DATE_TAG) return { [tagLike.slice(1)]: inner }; // escaped user data
  if (typeof inner !== 'string')
    throw new DecodeError('undecodable-body', 'A date tag must hold an ISO string');
  const date = new Date(inner);
  if (Number.isNaN(date.getTime())) throw new DecodeError('undecodable-body', `Invalid date '${inner}'`);
  return date;
}

/** JSON text of a value, with `Date`s kept as `{"$date": ISO}` so they round-trip. */
export function toJson(value: unknown): string {
  // A replacer takes JSON.stringify off its fast path: only values that need one get it.
  return needsReplacer(value, 0) ? JSON.stringify(value, encodeValue) : JSON.stringify(value);
}

/**
 * Whether JSON text of `value` written without {@link encodeValue} could differ from the text
 * written with it: a `Date` or another `toJSON` object, a tag-like object, or nesting too deep to
 * tell (a cycle: the replacer's run then throws JSON.stringify's own error).
 */
function needsReplacer(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (depth > 100 || typeof (value as { toJSON?: unknown }).toJSON === 'function') return true;
  if (Array.isArray(value)) {
    for (const item of value) if (needsReplacer(item, depth + 1)) return true;
    return false;
  }
  const keys = Object.keys(value);
  if (keys.length === 1 && TAG_LIKE.test(keys[0] as string)) return true;
  for (const key of keys) if (needsReplacer((value as Record<string, unknown>)[key], depth + 1)) return true;
  return false;
}

/** Parses {@link toJson} output; rejects `__proto__`/`constructor`/`prototype` keys. */
export function fromJson(text: string): unknown {
  // JSON.parse makes every key an own data property (`__proto__` included, with no effect on the
  // prototype); the walk then refuses forbidden keys and revives tags, innermost first, as the
  // reviver would, without a reviver's cost per value.
  return revive(JSON.parse(text) as unknown, '');
}

function revive(value: unknown, key: string): unknown {
  if (typeof value === 'object' && value !== null) {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = revive(value[i], String(i));
    } else {
      const record = value as Record<string, unknown>;
      for (const name of Object.keys(record)) record[name] = revive(record[name], name);
    }
  }
  return decodeValue(key, value);
}

/**
 * The last time {@link isoTime} formatted and {@link parsedTime} parsed: the messages of one
 * burst are mostly sent within the same millisecond, and the conversion costs more than the rest
 * of a header.
 */
let formatted = { time: Number.NaN, text: '' };
let parsed = { text: '', time: Number.NaN };

/** `date.toISOString()` (which throws a `RangeError` for an invalid date). */
function isoTime(date: Date): string {
  const time = date.getTime();
  if (time !== formatted.time) formatted = { time, text: date.toISOString() };
  return formatted.text;
}

/** `new Date(text)`. */
function parsedTime(text: string): Date {
  if (text !== parsed.text) parsed = { text, time: Date.parse(text) };
  return new Date(parsed.time);
}

/** The header `name`, which must be a non-empty string. */
function requiredHeader(headers: Readonly<Record<string, string>>, name: string): string {
  const value = headers[name];
  if (typeof value !== 'string' || value.length === 0) {
    throw new DecodeError('missing-field', `The envelope has no '${name}'`);
  }
  return value;
}

/**
 * Encodes envelopes to {@link WireMessage}s and decodes them back, rejecting bad input with a
 * {@link DecodeError} whose `reason` names what was wrong.
 */
export class MessageCodec {
  readonly maxBodyBytes: number;
  private readonly registry: MessageRegistry;

  constructor(options: CodecOptions = {}) {
    this.maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
    this.registry = options.registry ?? defaultRegistry;
  }

  encode(envelope: Envelope): WireMessage {
    const text = this.encodeText(envelope);
    return { messageId: text.messageId, headers: text.headers, body: Buffer.from(text.body, 'utf8') };
  }

  /**
   * {@link MessageCodec.encode} with the body left as JSON text: the form outbox entries store, so
   * an emitted message is not turned into bytes only to be turned back into a string.
   */
  encodeText(envelope: Envelope): TextMessage {
    const type = this.registry.lookup(envelope.type);
    // Written as a literal with the keys of `Headers` spelled out, then the envelope's own headers
    // added: an object of one fixed shape, where a spread followed by computed keys gave each
    // message a dictionary of its own, slower to build here and to read in `decode`.
    const headers: Record<string, string> = {
      'longhaul.type': envelope.type,
      'longhaul.correlation-id': envelope.correlationId,
      'longhaul.conversation-id': envelope.conversationId,
      'longhaul.sent-at': isoTime(envelope.sentAt),
      'longhaul.partition-key': partitionKeyOf(envelope, type),
    } satisfies Partial<Record<(typeof Headers)[keyof typeof Headers], string>>;
    if (envelope.causationId !== undefined) headers[Headers.causationId] = envelope.causationId;
    if (type?.version !== undefined) headers[Headers.version] = String(type.version);
    // The envelope's headers never replace the ones written above.
    for (const key of Object.keys(envelope.headers)) {
      if (!Object.hasOwn(headers, key)) headers[key] = envelope.headers[key] as string;
    }
    return { messageId: envelope.id, headers, body: toJson(envelope.body) };
  }

  decode(wire: WireMessage): Envelope {
    const headers = wire.headers ?? {};
    if (typeof wire.messageId !== 'string' || wire.messageId.length === 0) {
      throw new DecodeError('missing-field', "The envelope has no 'messageId'");
    }
    if (wire.body.byteLength > this.maxBodyBytes) {
      throw new DecodeError(
        'too-large',
        `The body has ${wire.body.byteLength} bytes, over the limit of ${this.maxBodyBytes}`,
      );
    }
    const typeName = requiredHeader(headers, Headers.type);
    const type = this.registry.lookup(typeName);
    if (!type) throw new DecodeError('unknown-type', `Unknown message type '${typeName}'`);
    const sentAt = parsedTime(requiredHeader(headers, Headers.sentAt));
    if (Number.isNaN(sentAt.getTime())) {
      throw new DecodeError('missing-field', `The envelope's '${Headers.sentAt}' is not a date`);
    }
    let parsed: unknown;
    try {
      parsed = fromJson(UTF8.decode(wire.body));
    } catch (error) {
      if (error instanceof DecodeError) throw error;
      throw new DecodeError('undecodable-body', `The body is not valid JSON: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || parsed instanceof Date) {
      throw new DecodeError('undecodable-body', 'The body is not a JSON object');
    }
    // Aliases: a message sent under a former name decodes as the current type.
    const upcast = upcastBody(type, parsed, versionOf(headers), {
      type: typeName,
      messageId: wire.messageId,
      sentAt,
      headers,
    });
    const body = Object.assign(Object.create(type.ctor.prototype as object) as object, upcast);
    if (type.validate) {
      let problems: readonly string[] | void;
      try {
        problems = type.validate(body);
      } catch (error) {
        throw new DecodeError('invalid', `Validation failed: ${(error as Error).message}`, { cause: error });
      }
      if (problems && problems.length > 0) {
        throw new DecodeError('invalid', `Validation failed: ${problems.join('; ')}`);
      }
    }
    return {
      id: wire.messageId,
      type: type.name,
      correlationId: requiredHeader(headers, Headers.correlationId),
      conversationId: requiredHeader(headers, Headers.conversationId),
      causationId: headers[Headers.causationId],
      sentAt,
      headers: stringHeaders(headers),
      body,
    };
  }
}

/**
 * The string headers of a wire message: the headers themselves when they are all strings (what
 * Longhaul sends; the envelope's headers are read-only), else a copy without the others (a
 * broker or a foreign sender may add numbers or bytes).
 */
function stringHeaders(headers: Readonly<Record<string, unknown>>): Readonly<Record<string, string>> {
  let strings = true;
  for (const key in headers) {
    if (typeof headers[key] !== 'string' || !Object.hasOwn(headers, key)) {
      strings = false;
      break;
    }
  }
  if (strings && Object.getPrototypeOf(headers) === Object.prototype)
    return headers as Readonly<Record<string, string>>;
  const own: Record<string, string> = {};
  for (const key of Object.keys(headers)) {
    const value = headers[key];
    if (typeof value === 'string') own[key] = value;
  }
  return own;
}
