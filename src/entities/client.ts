import { type Bus } from '../bus/bus.js';
import { LonghaulError } from '../errors.js';
import { type SagaRecord, type SagaStore } from '../persistence/saga-store.js';
import { type Duration, toMillis } from '../util/duration.js';
import { derivedId, newId } from '../util/ids.js';
import { OperationFailedError } from '../workflows/api.js';
import { checkSize } from '../workflows/limits.js';
import { type EntitySnapshot } from './api.js';
import {
  checkEntityKey,
  checkOperationName,
  type EntityClass,
  entityNameOf,
  type OperationInput,
  type OperationName,
  type OperationOutput,
} from './definitions.js';
import { ENTITY_SAGA, entityCorrelation, type EntityInstanceState } from './engine.js';
import { EntityOperationMessage } from './messages.js';

/** Options of {@link EntityClient.signalEntity} and {@link EntityClient.callEntity}. */
export interface EntityCallOptions {
  /**
   * Makes the call idempotent: the operation's message id derives from it (and the entity), so a
   * retried call is applied once while the first is in the entity's inbox (its dedupe window).
   * @defaultValue a new id per call
   */
  operationId?: string;
}

/**
 * Signals and calls entity operations, reads and deletes entities. Inject it from the container,
 * or take `endpoint.entities`. Operations go to the endpoint that hosts entities: this one when it
 * does, else where the endpoint's `routes` send `longhaul.entity.Operation` (or
 * `endpoint.entitiesAt(name)`).
 * @example
 * ```ts
 * const entities = container.get(EntityClient);
 * await entities.signalEntity(Counter, 'visits', 'add', 1);
 * const total = await entities.callEntity(Counter, 'visits', 'add', 5);
 * const snapshot = await entities.read(Counter, 'visits');
 * ```
 */
export class EntityClient {
  /** @internal */
  constructor(
    private readonly bus: Bus,
    private readonly store: SagaStore,
    /** The hosting endpoint; undefined: this endpoint's routes decide. */
    private readonly to: string | undefined,
    private readonly maxBodyBytes: number = 1024 * 1024,
  ) {}

  /** One-way: resolves with the operation id once the operation is accepted by the broker. */
  async signalEntity<E extends object, K extends OperationName<E>>(
    entity: EntityClass<E> | string,
    key: string,
    operation: K | string,
    input?: OperationInput<E, K>,
    options: EntityCallOptions = {},
  ): Promise<string> {
    return this.send(entity, key, operation, input, false, options);
  }

  /**
   * Request and response: applies the operation and resolves with what it returned, or rejects
   * with {@link OperationFailedError} carrying the error it threw (its state changes then were not
   * kept). The result is read back from the entity (kept there `entityOptions.resultRetention`),
   * polling with a backoff up to 250 ms. Rejects with code `timeout` after `timeout`.
   */
  async callEntity<E extends object, K extends OperationName<E>>(
    entity: EntityClass<E> | string,
    key: string,
    operation: K | string,
    input?: OperationInput<E, K>,
    options: EntityCallOptions & { timeout?: Duration } = {},
  ): Promise<OperationOutput<E, K>> {
    const id = await this.send(entity, key, operation, input, true, options);
    return (await this.outcome(entityNameOf(entity), key, id, options.timeout)) as OperationOutput<E, K>;
  }

  /**
   * Waits for the outcome of a called operation by its id (as `callEntity` does): for a caller
   * that sent it with `callEntity` and lost the answer, e.g. an HTTP retry.
   */
  async outcome(
    entity: EntityClass | string,
    key: string,
    operationId: string,
    timeout?: Duration,
  ): Promise<unknown> {
    const type = entityNameOf(entity);
    const deadline = Date.now() + toMillis(timeout ?? '30s', 'timeout');
    for (let wait = 10; ; wait = Math.min(250, wait * 2)) {
      const record = await this.record(type, key);
      const state = record?.state as EntityInstanceState | null | undefined;
      const found = state?.results?.find((r) => r.id === operationId);
      if (found) {
        if (found.ok) return found.value;
        throw new OperationFailedError(found.failure ?? { name: 'Error', message: 'failed' });
      }
      if (record && record.status === 'completed' && record.inbox.some((e) => e.id === operationId)) {
        throw new LonghaulError(
          'entity-deleted',
          `${type} '${key}' was deleted after operation ${operationId} was applied: its result was dropped with it`,
        );
      }
      if (Date.now() > deadline) {
        throw new LonghaulError(
          'timeout',
          `Operation ${operationId} on ${type} '${key}' had no result in time: is an endpoint hosting ${type} running, and does this process share its saga store?`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** The entity's state and counters, or undefined when it does not exist (never used, or deleted). */
  async read<State = unknown>(
    entity: EntityClass | string,
    key: string,
  ): Promise<EntitySnapshot<State> | undefined> {
    const record = await this.record(entityNameOf(entity), checkEntityKey(key));
    return record ? snapshotOf<State>(record) : undefined;
  }

  /**
   * Deletes the entity: a delete operation queued behind the operations sent before it. The next
   * operation starts a new entity from `initialState()`. Resolves once it is accepted.
   */
  async delete(entity: EntityClass | string, key: string): Promise<void> {
    const message = new EntityOperationMessage(
      entityNameOf(entity),
      checkEntityKey(key),
      '',
      undefined,
      undefined,
      'delete',
    );
    await this.bus.send(message, this.to !== undefined ? { to: this.to } : {});
  }

  /** Entities of a type (or all), ordered by internal id; pass `after` from the last page. */
  async list(
    entity?: EntityClass | string,
    page: { limit?: number; after?: string } = {},
  ): Promise<{ items: EntitySnapshot[]; next?: string }> {
    const limit = page.limit ?? 100;
    const labels: Record<string, string> = entity === undefined ? {} : { entityType: entityNameOf(entity) };
    const records = await this.store.list(ENTITY_SAGA, { labels }, { limit, after: page.after });
    const items = records.flatMap((r) => snapshotOf(r) ?? []);
    return { items, next: records.length === limit ? records.at(-1)?.id : undefined };
  }

  private async record(type: string, key: string): Promise<SagaRecord | undefined> {
    return this.store.findByCorrelation(ENTITY_SAGA, entityCorrelation(type, key));
  }

  private async send(
    entity: EntityClass | string,
    key: string,
    operation: string,
    input: unknown,
    call: boolean,
    options: EntityCallOptions,
  ): Promise<string> {
    const type = entityNameOf(entity);
    const message = new EntityOperationMessage(
      type,
      checkEntityKey(key),
      checkOperationName(operation),
      input,
      call ? { kind: 'stored' } : undefined,
    );
    const tooLarge = checkSize(`The input of ${type}.${operation}`, message, this.maxBodyBytes);
    if (tooLarge) throw tooLarge;
    const messageId =
      options.operationId !== undefined
        ? derivedId('entity-operation', type, key, options.operationId)
        : newId();
    await this.bus.send(message, { messageId, ...(this.to !== undefined ? { to: this.to } : {}) });
    return messageId;
  }
}

function snapshotOf<State>(record: SagaRecord): EntitySnapshot<State> | undefined {
  const state = record.state as EntityInstanceState | null;
  if (record.status !== 'active' || !state) return undefined;
  return {
    entityType: state.entityType,
    key: state.key,
    state: state.state as State,
    operations: state.operations,
    ...(state.lastOperation ? { lastOperation: state.lastOperation } : {}),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}
