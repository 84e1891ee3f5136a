import * as crypto from 'node:crypto';
import { TwoKeyMap } from './two-key-map.js';

/** Longhaul's UUID v5 namespace for derived ids. */
const NAMESPACE = Buffer.from('6c6f6e67-6861-756c-8000-000000000001'.replace(/-/g, ''), 'hex');

/** `crypto.hash` (Node 20.12+): one call instead of a Hash object per id. */
const oneShotHash = typeof crypto.hash === 'function' ? crypto.hash : undefined;

/** A random UUID v4. */
export function newId(): string {
  return crypto.randomUUID();
}

/** This process's prefix for {@link newToken}: 128 random bits. */
const TOKEN_PREFIX = crypto.randomUUID();
let tokens = 0;

/**
 * A token no other call in any process returns (a random prefix drawn once per process, then a
 * counter): for claims and leases, which only need to be unique, at a fraction of a UUID's cost.
 */
export function newToken(): string {
  return `${TOKEN_PREFIX}.${(tokens++).toString(36)}`;
}

/** Bytes of the hash input, reused: the namespace, then the name (grown when a name needs more). */
let scratch = Buffer.allocUnsafe(256);
NAMESPACE.copy(scratch, 0);

/** The digest as a UUID's text, written here as bytes and read back as one flat string. */
const uuidText = Buffer.allocUnsafe(44);
/** The hex digits, as character codes. */
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/**
 * A name-based UUID v5: the same parts always give the same id. Used for outgoing message ids
 * (incoming id + handling instance + position) so a rerun or a redelivery reproduces them.
 *
 * The text is written into a buffer and read as one string: slices of the hex digest joined in a
 * template made each id a tree of a dozen small strings, and ids are what saga inboxes keep.
 */
export function derivedId(...parts: readonly (string | number)[]): string {
  const name = parts.join('\u0000');
  const length = NAMESPACE.length + Buffer.byteLength(name);
  if (length > scratch.length) {
    scratch = Buffer.allocUnsafe(Math.max(length, 2 * scratch.length));
    NAMESPACE.copy(scratch, 0);
  }
  scratch.write(name, NAMESPACE.length);
  const input = scratch.subarray(0, length);
  const hex = oneShotHash
    ? oneShotHash('sha1', input, 'hex')
    : crypto.createHash('sha1').update(input).digest('hex');
  // The first 32 hex digits moved apart for the dashes (8-4-4-4-12), version 5 in the 13th digit,
  // variant 10 in the top bits of the 17th.
  uuidText.write(hex, 0, 40, 'latin1');
  uuidText.copyWithin(24, 20, 32);
  uuidText.copyWithin(19, 16, 20);
  uuidText.copyWithin(14, 12, 16);
  uuidText.copyWithin(9, 8, 12);
  uuidText[8] = uuidText[13] = uuidText[18] = uuidText[23] = 0x2d; // '-'
  uuidText[14] = 0x35; // '5'
  const digit = uuidText[19]!;
  uuidText[19] = HEX[((digit <= 0x39 ? digit - 0x30 : digit - 0x57) & 0x3) | 0x8]!;
  return uuidText.toString('latin1', 0, 36);
}

/**
 * Instance ids derived lately, by saga type then correlation value: a busy instance's messages ask
 * for the same id again and again. Two generations: when the young one is full it becomes the old
 * one, so an id asked for again within the last `RECENT_INSTANCE_IDS` to `2 ×` that many
 * derivations is found without hashing.
 */
let recentInstanceIds = new TwoKeyMap<string>();
let olderInstanceIds = new TwoKeyMap<string>();
const RECENT_INSTANCE_IDS = 4096;

/** The instance id of a saga type's instance for a correlation value (stable, so reruns agree). */
export function sagaInstanceId(sagaType: string, correlationKey: string): string {
  let id = recentInstanceIds.get(sagaType, correlationKey);
  if (id !== undefined) return id;
  id = olderInstanceIds.get(sagaType, correlationKey) ?? derivedId('saga', sagaType, correlationKey);
  if (recentInstanceIds.size >= RECENT_INSTANCE_IDS) {
    olderInstanceIds = recentInstanceIds;
    recentInstanceIds = new TwoKeyMap();
  }
  recentInstanceIds.set(sagaType, correlationKey, id);
  return id;
}
