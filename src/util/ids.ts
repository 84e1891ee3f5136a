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

/** The hex digit of the UUID variant (`10xx`) over the top two bits of the digit `hex`. */
function variantDigit(hex: string): string {
  return ((Number.parseInt(hex, 16) & 0x3) | 0x8).toString(16);
}

/**
 * A name-based UUID v5: the same parts always give the same id. Used for outgoing message ids
 * (incoming id + handling instance + position) so a rerun or a redelivery reproduces them.
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
  // The first 16 bytes, version 5 in the 7th byte's high nibble, variant 10 in the 9th byte's top bits.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variantDigit(hex[16] as string)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
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
