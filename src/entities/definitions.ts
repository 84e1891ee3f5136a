/**
 * `@Entity` and `@EntityOperation`: they only record metadata on the class (its entity type name
 * and the methods callable as operations). Nothing here imports the engine, so sagas and workflows
 * can name entity classes without depending on it.
 */
import { LonghaulError } from '../errors.js';

import { type EntityContext } from './api.js';

/** A class decorated with `@Entity`. */
export type EntityClass<E extends object = object> = abstract new (...args: any[]) => E;

/** What `@Entity` recorded. */
export interface EntityDefinition {
  readonly name: string;
  readonly ctor: EntityClass;
  /** The method names callable as operations (decorated with `@EntityOperation`). */
  readonly operations: ReadonlySet<string>;
}

/** The operation names of an entity class: its methods taking `(input, ctx)`. */
export type OperationName<E> = {
  [K in keyof E]: E[K] extends (input: any, ctx: EntityContext<any>) => unknown ? K : never;
}[keyof E] &
  string;

/** The input type of operation `K`. */
export type OperationInput<E, K extends keyof E> = E[K] extends (input: infer I, ...rest: any[]) => unknown
  ? I
  : never;

/** The result type of operation `K`. */
export type OperationOutput<E, K extends keyof E> = E[K] extends (...args: any[]) => infer R
  ? Awaited<R>
  : never;

const DEFINITION = Symbol.for('longhaul.entity');
const OPERATIONS = Symbol.for('longhaul.entityOperations');
/** Entity type names: the same alphabet as saga and message names. */
export const ENTITY_NAME = /^[A-Za-z0-9_.:-]{1,200}$/;
/** Operation names: a method name, not starting with `_` (those stay private). */
export const OPERATION_NAME = /^[A-Za-z$][A-Za-z0-9_$]{0,99}$/;

/**
 * Declares an entity type: a class whose `@EntityOperation` methods change one state per key,
 * one operation at a time. Resolved from the container for each operation, so constructor
 * injection works as for sagas. An optional `initialState()` method gives the state a new entity
 * starts with (else `{}`).
 * @example
 * ```ts
 * @Entity('Counter')
 * class Counter {
 *   initialState(): { value: number } { return { value: 0 }; }
 *   @EntityOperation()
 *   add(amount: number, ctx: EntityContext<{ value: number }>): number {
 *     ctx.state.value += amount;
 *     return ctx.state.value;
 *   }
 * }
 * ```
 */
export function Entity(name: string) {
  return (ctor: EntityClass): void => {
    const operations = (ctor.prototype as Record<symbol, Set<string> | undefined>)[OPERATIONS] ?? new Set();
    const definition: EntityDefinition = { name, ctor, operations };
    Object.defineProperty(ctor, DEFINITION, { value: definition, enumerable: false, configurable: true });
  };
}

/** Marks a method of an `@Entity` class as an operation callable by clients, workflows and sagas. */
export function EntityOperation() {
  return (prototype: object, method: string | symbol): void => {
    const holder = prototype as Record<symbol, Set<string> | undefined>;
    const own = Object.prototype.hasOwnProperty.call(holder, OPERATIONS)
      ? holder[OPERATIONS]
      : new Set(holder[OPERATIONS] ?? []);
    own!.add(String(method));
    Object.defineProperty(holder, OPERATIONS, { value: own, enumerable: false, configurable: true });
  };
}

/** The definition of an `@Entity` class, or undefined. */
export function entityDefinitionOf(ctor: unknown): EntityDefinition | undefined {
  if (typeof ctor !== 'function' || !Object.prototype.hasOwnProperty.call(ctor, DEFINITION)) return undefined;
  return (ctor as unknown as Record<symbol, EntityDefinition>)[DEFINITION];
}

/** The entity type name of a class (or a name, checked), or an `invalid-entity` error. */
export function entityNameOf(entity: EntityClass | string): string {
  const name = typeof entity === 'string' ? entity : entityDefinitionOf(entity)?.name;
  if (name === undefined) {
    throw new LonghaulError(
      'invalid-entity',
      `${(entity as { name?: string }).name ?? String(entity)} is not an entity class: decorate it with @Entity('...')`,
    );
  }
  if (!ENTITY_NAME.test(name))
    throw new LonghaulError(
      'invalid-entity',
      `The entity name ${JSON.stringify(name)} is not 1-200 of [A-Za-z0-9_.:-]`,
    );
  return name;
}

/** Checks an entity key (1-200 characters, no control characters); throws `invalid-entity-key`. */
export function checkEntityKey(key: unknown): string {
  // eslint-disable-next-line no-control-regex
  if (typeof key !== 'string' || key.length === 0 || key.length > 200 || /[\u0000-\u001f\u007f]/.test(key)) {
    throw new LonghaulError(
      'invalid-entity-key',
      `An entity key must be a string of 1-200 characters without control characters, got ${JSON.stringify(key)}`,
    );
  }
  return key;
}

/** Checks an operation name; throws `invalid-operation`. */
export function checkOperationName(operation: unknown): string {
  if (typeof operation !== 'string' || !OPERATION_NAME.test(operation)) {
    throw new LonghaulError(
      'invalid-operation',
      `An operation name must be a method name (1-100 of [A-Za-z0-9_$], not starting with _ or a digit), got ${JSON.stringify(operation)}`,
    );
  }
  return operation;
}
