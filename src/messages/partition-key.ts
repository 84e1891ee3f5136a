/**
 * The partition key of a message: what a partitioned endpoint hashes to pick the one queue (and so
 * the one consumer at a time) that handles it. Written into the `longhaul.partition-key` header
 * when a message is encoded, and kept through retries and timeouts.
 *
 * Chosen, in order:
 * 1. the key the message type declares: `@Event('shop.OrderPaid', { partitionKey: (m: OrderPaid) => m.orderId })`;
 * 2. the correlation value of the saga (or workflow, entity) that handles the type, when that
 *    saga's class was loaded in the sending process (its `correlateBy`; the first saga loaded wins
 *    when several handle the type);
 * 3. otherwise the message id: such messages are spread over the partitions, in no order.
 *
 * A key given in the headers already (a timeout carries its saga instance's correlation value) is kept.
 */
import { type Envelope, Headers } from './envelope.js';
import { type MessageType } from './registry.js';

/** Maps a message to its partition key; `undefined`, `null` or `''` means "none". */
export type PartitionKeyOf<M> = (message: M) => string | number | undefined | null;

/** Correlation functions of the sagas loaded in this process, by the message type they handle. */
const correlations = new Map<string, PartitionKeyOf<any>>();

/** @internal Records a saga's `correlateBy` for a message type (the first recorded stays). */
export function recordCorrelation(typeName: string, correlateBy: PartitionKeyOf<any>): void {
  if (!correlations.has(typeName)) correlations.set(typeName, correlateBy);
}

function keyFrom(fn: PartitionKeyOf<any> | undefined, body: object): string | undefined {
  if (fn === undefined) return undefined;
  let value: unknown;
  try {
    value = fn(body);
  } catch {
    return undefined; // the handling reports a missing correlation value; routing falls back
  }
  return (typeof value === 'string' && value !== '') || typeof value === 'number' ? String(value) : undefined;
}

/** The partition key of `envelope` (see the file header for the order). */
export function partitionKeyOf(envelope: Envelope, type: MessageType | undefined): string {
  const given = envelope.headers[Headers.partitionKey];
  if (typeof given === 'string' && given !== '') return given;
  return (
    keyFrom(type?.partitionKey, envelope.body) ??
    keyFrom(correlations.get(envelope.type), envelope.body) ??
    envelope.id
  );
}

/**
 * The partition (0 to `partitions - 1`) of a key on the in-memory transport: FNV-1a over the
 * key's UTF-16 code units. (On RabbitMQ the consistent-hash exchange decides; the two need not agree.)
 */
export function partitionOfKey(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}
