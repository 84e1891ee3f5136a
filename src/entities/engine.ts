/**
 * The entity engine is a saga: one built-in saga type (`longhaul.Entity`) whose instances are
 * entities, correlated by entity type + key. Each `EntityOperationMessage` is one operation: the
 * commit path loads the entity, skips an operation id already in its inbox (a redelivery), runs
 * the operation on a copy of the state, and commits the new state, the messages the operation
 * sent, the reply and the operation id in one conditional write. Operations on one entity are
 * therefore applied one at a time, each exactly once; see docs/entities.md for the order.
 */
import { NonRetryableError } from '../errors.js';
import { type SagaContext } from '../sagas/context.js';
import { StartedBy, Saga } from '../sagas/decorators.js';
import { type Logger } from '../util/logger.js';
import { toFailure } from '../workflows/failure.js';
import { checkSize, tooLargeFailure } from '../workflows/limits.js';
import { type FailureInfo, OperationResult } from '../workflows/messages.js';
import { EntityContextImpl } from './context.js';
import { type EntityDefinition } from './definitions.js';
import { EntityOperationMessage } from './messages.js';

/** The saga type under which entities are stored. */
export const ENTITY_SAGA = 'longhaul.Entity';

/** The correlation value of an entity: its type and key (`/` cannot occur in a type name). */
export function entityCorrelation(entityType: string, key: string): string {
  return `${entityType}/${key}`;
}

/** The outcome of one called operation, kept in the entity until the caller has had time to read it. */
export interface StoredResult {
  /** The operation id (its message id). */
  readonly id: string;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly failure?: FailureInfo;
  readonly at: Date;
}

/** An entity as the saga store keeps it. */
export interface EntityInstanceState {
  entityType: string;
  key: string;
  /** The user's state. */
  state: unknown;
  operations: number;
  lastOperation?: { name: string; at: Date };
  /** Outcomes of operations called by a client, newest last (see `EntityEngineDeps.results`). */
  results: StoredResult[];
}

/** What the engine needs from the endpoint. */
export interface EntityEngineDeps {
  readonly definitions: ReadonlyMap<string, EntityDefinition>;
  readonly resolve: (ctor: new (...args: any[]) => object) => object;
  readonly logger: Logger;
  readonly endpoint: string;
  readonly maxBodyBytes: number;
  /** How long, and how many, stored results are kept per entity. */
  readonly results: { readonly windowMs: number; readonly cap: number };
}

type Ctx = SagaContext<EntityInstanceState>;

@Saga(ENTITY_SAGA)
export class EntityEngine {
  constructor(private readonly deps: EntityEngineDeps) {}

  @StartedBy(EntityOperationMessage, {
    correlateBy: (m) => entityCorrelation(m.entityType, m.key),
    onExisting: 'handle',
    onCompleted: 'restart',
  })
  async apply(msg: EntityOperationMessage, ctx: Ctx): Promise<void> {
    const definition = this.deps.definitions.get(msg.entityType);
    if (!definition) {
      throw new NonRetryableError(
        `Entity type '${msg.entityType}' is not hosted on endpoint '${this.deps.endpoint}' (its option entities)`,
        { code: 'unknown-entity' },
      );
    }
    if (ctx.isNew || !ctx.state) {
      const instance = this.deps.resolve(definition.ctor as new () => object) as {
        initialState?: () => unknown;
      };
      ctx.state = {
        entityType: msg.entityType,
        key: msg.key,
        state: typeof instance.initialState === 'function' ? instance.initialState() : {},
        operations: 0,
        results: [],
      };
      ctx.setLabels({ entityType: msg.entityType, entityKey: msg.key });
    }
    const at = ctx.now();
    if (msg.kind === 'delete') {
      this.deps.logger.debug('entity deleted', { entityType: msg.entityType, key: msg.key });
      await this.reply(msg, ctx, { ok: true }, at);
      ctx.complete();
      return;
    }
    const outcome = await this.run(definition, msg, ctx, at);
    ctx.state.operations += 1;
    ctx.state.lastOperation = { name: msg.operation, at };
    await this.reply(msg, ctx, outcome, at);
    if (outcome.deleted) ctx.complete();
  }

  /** Runs the operation on a copy of the state; its changes and messages are kept only if it returns. */
  private async run(
    definition: EntityDefinition,
    msg: EntityOperationMessage,
    ctx: Ctx,
    at: Date,
  ): Promise<{ ok: boolean; value?: unknown; failure?: FailureInfo; deleted?: boolean }> {
    if (!definition.operations.has(msg.operation)) {
      return {
        ok: false,
        failure: {
          name: 'UnknownOperationError',
          code: 'unknown-operation',
          message: `${msg.entityType} has no operation '${msg.operation}' (methods decorated with @EntityOperation: ${[...definition.operations].join(', ') || 'none'})`,
        },
      };
    }
    const instance = this.deps.resolve(definition.ctor as new () => object) as Record<string, unknown>;
    const method = instance[msg.operation];
    if (typeof method !== 'function')
      throw new NonRetryableError(`${definition.ctor.name}.${msg.operation} is not a method`);
    const context = new EntityContextImpl(
      structuredClone(ctx.state.state),
      msg.entityType,
      msg.key,
      msg.operation,
      ctx.envelope,
      at,
    );
    let value: unknown;
    try {
      value = await (method as (input: unknown, c: unknown) => unknown).call(instance, msg.input, context);
    } catch (error) {
      this.deps.logger.info('entity operation failed; state unchanged', {
        entityType: msg.entityType,
        key: msg.key,
        operation: msg.operation,
        error: (error as Error).message,
      });
      return { ok: false, failure: toFailure(error) };
    } finally {
      context.seal();
    }
    ctx.state.state = context.state;
    for (const out of context.emitted) {
      if (out.kind === 'send') await ctx.send(out.message, out.options);
      else await ctx.publish(out.message, out.options);
    }
    return { ok: true, value, deleted: context.deleted };
  }

  private async reply(
    msg: EntityOperationMessage,
    ctx: Ctx,
    outcome: { ok: boolean; value?: unknown; failure?: FailureInfo },
    at: Date,
  ): Promise<void> {
    const reply = msg.reply;
    if (!reply) return;
    let { ok, value, failure } = outcome;
    const tooLarge = ok
      ? checkSize(`The result of ${msg.entityType}.${msg.operation}`, { value }, this.deps.maxBodyBytes)
      : undefined;
    if (tooLarge) {
      ok = false;
      value = undefined;
      failure = tooLargeFailure(tooLarge);
    }
    if (reply.kind === 'workflow') {
      await ctx.send(
        new OperationResult(reply.instanceId, reply.generation, reply.seq, ok, value, failure, reply.epoch),
        { to: reply.endpoint },
      );
      return;
    }
    const { windowMs, cap } = this.deps.results;
    const kept = ctx.state.results.filter((r) => at.getTime() - new Date(r.at).getTime() < windowMs);
    kept.push({ id: ctx.envelope.id, ok, ...(ok ? { value } : { failure }), at });
    if (kept.length > cap) {
      this.deps.logger.warn('entity result evicted before its window ended: raise entityOptions.resultCap', {
        entityType: msg.entityType,
        key: msg.key,
        evicted: kept.length - cap,
      });
    }
    ctx.state.results = kept.slice(-cap);
  }
}
