import * as crypto from 'node:crypto';

/** Longhaul's UUID v5 namespace for derived ids. */
const NAMESPACE = Buffer.from('6c6f6e67-6861-756c-8000-000000000001'.replace(/-/g, ''), 'hex');

/** `crypto.hash` (Node 20.12+): one call instead of a Hash object per id. */
const oneShotHash = typeof crypto.hash === 'function' ? crypto.hash : undefined;

/** A random UUID v4. */
export function newId(): string {
  return crypto.randomUUID();
}

/**
 * A name-based UUID v5: the same parts always give the same id. Used for outgoing message ids
 * (incoming id + handling instance + position) so a rerun or a redelivery reproduces them.
 */
export function derivedId(...parts: readonly (string | number)[]): string {
  const name = parts.join('\u0000');
  const input = Buffer.allocUnsafe(NAMESPACE.length + Buffer.byteLength(name));
  NAMESPACE.copy(input, 0);
  input.write(name, NAMESPACE.length);
  const digest = oneShotHash
    ? oneShotHash('sha1', input, 'buffer')
    : crypto.createHash('sha1').update(input).digest();
  digest[6] = ((digest[6] as number) & 0x0f) | 0x50;
  digest[8] = ((digest[8] as number) & 0x3f) | 0x80;
  const hex = digest.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Instance ids derived lately: a busy instance's messages ask for the same id again and again. */
const recentInstanceIds = new Map<string, string>();
const RECENT_INSTANCE_IDS = 4096;

/** The instance id of a saga type's instance for a correlation value (stable, so reruns agree). */
export function sagaInstanceId(sagaType: string, correlationKey: string): string {
  const name = `${sagaType}\u0000${correlationKey}`;
  let id = recentInstanceIds.get(name);
  if (id === undefined) {
    id = derivedId('saga', sagaType, correlationKey);
    if (recentInstanceIds.size >= RECENT_INSTANCE_IDS) {
      recentInstanceIds.delete(recentInstanceIds.keys().next().value as string);
    }
    recentInstanceIds.set(name, id);
  }
  return id;
}
