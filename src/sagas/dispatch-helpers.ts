/**
 * Pure helpers of the commit path: which instance a message is for (before the store is read), its
 * correlation value, the handler's private copy of the state, and the jitter between conflict reruns.
 */
import { NonRetryableError } from '../errors.js';
import { type Envelope, Headers } from '../messages/envelope.js';
import { cloneData } from '../util/clone.js';
import { sagaInstanceId } from '../util/ids.js';
import { type SagaDefinition, type SagaHandlerDefinition } from './metadata.js';

/** A message's correlation value for a saga type and the id of the instance it names. */
export interface Correlated {
  readonly key: string;
  readonly id: string;
}

/**
 * The instance a message is for, as far as it can be told before reading the store: the target
 * id of a timeout, the id derived from the correlation value otherwise (an instance stored under
 * a former name has another id: its messages are then only not queued together). `id` is
 * undefined when the message has no usable value (the handling reports that); `correlated` is the
 * value and id found, so the handling need not work them out again.
 */
export function instanceKeyOf(
  saga: SagaDefinition,
  handler: SagaHandlerDefinition,
  envelope: Envelope,
): { id?: string; correlated?: Correlated } {
  if (handler.role === 'timeout') return { id: envelope.headers[Headers.sagaId] || undefined };
  let key: string;
  try {
    key = correlationKeyOf(saga, handler, envelope);
  } catch {
    return {};
  }
  const correlated = { key, id: sagaInstanceId(saga.name, key) };
  return { id: correlated.id, correlated };
}

export function correlationKeyOf(
  saga: SagaDefinition,
  handler: SagaHandlerDefinition,
  envelope: Envelope,
): string {
  let value: unknown;
  try {
    value = handler.correlateBy?.(envelope.body);
  } catch (error) {
    throw new NonRetryableError(`correlateBy of ${saga.name} for ${envelope.type} threw`, {
      cause: error,
      code: 'correlation-missing',
    });
  }
  if ((typeof value !== 'string' && typeof value !== 'number') || value === '') {
    throw new NonRetryableError(
      `Message ${envelope.type} ${envelope.id} has no correlation value for saga ${saga.name} (got ${String(value)})`,
      { code: 'correlation-missing' },
    );
  }
  return String(value);
}

/** The saga's append-only state array as loaded, if it has one (see `SagaDefinition.appendOnly`). */
export function appendOnlyArray(
  saga: SagaDefinition,
  state: unknown,
): { field: string; items: readonly unknown[] } | undefined {
  if (saga.appendOnly === undefined || typeof state !== 'object' || state === null) return undefined;
  const items = (state as Record<string, unknown>)[saga.appendOnly];
  return Array.isArray(items) ? { field: saga.appendOnly, items } : undefined;
}

/**
 * The handler's private copy of the state: a deep copy, except that the append-only array is a
 * new array of the same items (never mutated), so the copy does not grow with it.
 */
export function copyState(
  state: unknown,
  appendOnly: { field: string; items: readonly unknown[] } | undefined,
): unknown {
  if (!appendOnly) return cloneData(state);
  const { [appendOnly.field]: _items, ...rest } = state as Record<string, unknown>;
  return { ...cloneData(rest), [appendOnly.field]: appendOnly.items.slice() };
}

export function jitter(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(50, 2 * 2 ** Math.min(attempt, 5));
  return new Promise((resolve) => setTimeout(resolve, ms));
}
