import { ConfigurationError } from '../errors.js';
import { type SagaDefinition, sagaDefinitionOf } from '../sagas/metadata.js';
import { type Duration, toMillis } from '../util/duration.js';
import { type Logger } from '../util/logger.js';
import { entityDefinitionOf, type EntityClass, type EntityDefinition } from './definitions.js';
import { EntityEngine } from './engine.js';

/** Entity options of an endpoint. */
export interface EntityOptions {
  /**
   * How long the result of an operation called by a client (`callEntity`) is kept in the entity
   * for the caller to read (a retried HTTP call with the same `Idempotency-Key` reads it too).
   * The results ride in the entity's document, so every commit of the entity writes them.
   * @defaultValue '5m'
   */
  resultRetention?: Duration;
  /** At most this many results are kept per entity (the oldest go first, logged). @defaultValue 200 */
  resultCap?: number;
}

/** Builds the built-in entity saga for an endpoint (none without entities). */
export function entityParts(
  entities: readonly EntityClass[],
  options: EntityOptions,
  deps: {
    endpoint: string;
    logger: Logger;
    resolve: (ctor: new (...args: any[]) => object) => object;
    maxBodyBytes: number;
  },
): { sagas: SagaDefinition[]; hosted: ReadonlySet<string> } {
  const definitions = new Map<string, EntityDefinition>();
  entities.forEach((ctor, i) => {
    const definition = entityDefinitionOf(ctor);
    if (!definition)
      throw new ConfigurationError(
        `entities[${i}]`,
        `${ctor?.name ?? String(ctor)} is not decorated with @Entity`,
      );
    if (!/^[A-Za-z0-9_.:-]{1,200}$/.test(definition.name))
      throw new ConfigurationError(
        `entities[${i}]`,
        `the entity name ${JSON.stringify(definition.name)} is not 1-200 of [A-Za-z0-9_.:-]`,
      );
    if (definitions.has(definition.name))
      throw new ConfigurationError(`entities[${i}]`, `the entity name '${definition.name}' is used twice`);
    if (definition.operations.size === 0)
      throw new ConfigurationError(
        `entities[${i}]`,
        `${ctor.name} has no method decorated with @EntityOperation()`,
      );
    definitions.set(definition.name, definition);
  });
  if (definitions.size === 0) return { sagas: [], hosted: new Set() };
  let windowMs: number;
  try {
    windowMs = toMillis(options.resultRetention ?? '5m', 'resultRetention');
  } catch (error) {
    throw new ConfigurationError('entityOptions.resultRetention', (error as Error).message);
  }
  const cap = options.resultCap ?? 200;
  if (!Number.isInteger(cap) || cap < 1)
    throw new ConfigurationError('entityOptions.resultCap', `expected an integer >= 1, got ${String(cap)}`);
  const engine = new EntityEngine({
    definitions,
    resolve: deps.resolve,
    logger: deps.logger,
    endpoint: deps.endpoint,
    maxBodyBytes: deps.maxBodyBytes,
    results: { windowMs, cap },
  });
  return {
    sagas: [{ ...(sagaDefinitionOf(EntityEngine) as SagaDefinition), instance: engine }],
    hosted: new Set(definitions.keys()),
  };
}
