import { createHash, randomUUID } from 'node:crypto';

/** Longhaul's UUID v5 namespace for derived ids. */
const NAMESPACE = Buffer.from('6c6f6e67-6861-756c-8000-000000000001'.replace(/-/g, ''), 'hex');

/** A random UUID v4. */
export function newId(): string {
  return randomUUID();
}

/**
 * A name-based UUID v5: the same parts always give the same id. Used for outgoing message ids
 * (incoming id + handling instance + position) so a rerun or a redelivery reproduces them.
 */
export function derivedId(...parts: readonly (string | number)[]): string {
  const hash = createHash('sha1').update(NAMESPACE).update(parts.join('\u0000')).digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The instance id of a saga type's instance for a correlation value (stable, so reruns agree). */
export function sagaInstanceId(sagaType: string, correlationKey: string): string {
  return derivedId('saga', sagaType, correlationKey);
}
