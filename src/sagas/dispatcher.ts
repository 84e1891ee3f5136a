import { ConcurrencyError, LonghaulError, NonRetryableError, SagaNotFoundError } from '../errors.js';
import { type Envelope, Headers } from '../messages/envelope.js';
import { type OutboxEntry, type SagaRecord, type StateAppend } from '../persistence/saga-store.js';
import { sagaInstanceId } from '../util/ids.js';
import { KeyedQueue } from '../util/keyed-queue.js';
import { Attr } from '../telemetry/names.js';
import { applyLabels, SagaContextImpl } from './context.js';
import { evolve, storedNames } from './evolution.js';
import { refuse, restarted } from './start-policy.js';
import { recordHandled } from './inbox.js';
import { type SagaDefinition, type SagaHandlerDefinition, startPolicies } from './metadata.js';
import {
  appendOnlyArray,
  copyState,
  type Correlated,
  correlationKeyOf,
  instanceKeyOf,
  jitter,
} from './dispatch-helpers.js';
import { type SagaDispatcherDeps, type SagaOutcome } from './dispatcher-types.js';

export {
  type SagaDispatcherDeps,
  type SagaNotFoundPolicy,
  type SagaOutbox,
  type SagaOutcome,
} from './dispatcher-types.js';

/**
 * The commit path for one saga type and one message (docs/architecture.md, "The path of one
 * message", steps 4–8): find or create the instance, skip messages already in its inbox
 * (re-dispatching what is still pending), run the handler on a copy of the state, commit state +
 * outbox + inbox in one conditional write, rerun on a version conflict, then dispatch the outbox.
 */
export class SagaDispatcher {
  /** Duplicate deliveries an inbox recognised since this dispatcher was built (logged with each). */
  private duplicates = 0;
  /**
   * Messages for one instance handled in this process run one at a time, in arrival order, so a
   * busy instance's messages queue here instead of losing commit after commit to each other.
   * Across processes the version condition still decides (and conflicts are rerun).
   */
  private readonly perInstance = new KeyedQueue();

  constructor(private readonly deps: SagaDispatcherDeps) {}

  async handle(
    saga: SagaDefinition,
    handler: SagaHandlerDefinition,
    envelope: Envelope,
  ): Promise<SagaOutcome> {
    const { id, correlated } = instanceKeyOf(saga, handler, envelope);
    if (id === undefined) return this.traced(saga, handler, envelope);
    return this.perInstance.run(id, () => this.traced(saga, handler, envelope, correlated));
  }

  /** {@link SagaDispatcher.handleNow} in a `saga <type>` span telling the instance and the outcome. */
  private traced(
    saga: SagaDefinition,
    handler: SagaHandlerDefinition,
    envelope: Envelope,
    correlated?: Correlated,
  ): Promise<SagaOutcome> {
    const telemetry = this.deps.telemetry;
    if (!telemetry?.tracing) return this.handleNow(saga, handler, envelope, correlated);
    const attributes = {
      [Attr.sagaType]: saga.name,
      [Attr.messageType]: envelope.type,
      [Attr.handler]: handler.role,
    };
    return telemetry.span(`saga ${saga.name}`, attributes, async (scope) => {
      const outcome = await this.handleNow(saga, handler, envelope, correlated);
      scope.set({ [Attr.sagaResult]: outcome.result, [Attr.conflicts]: outcome.conflicts ?? 0 });
      if (outcome.sagaId !== undefined) scope.set({ [Attr.sagaId]: outcome.sagaId });
      return outcome;
    });
  }

  private async handleNow(
    saga: SagaDefinition,
    handler: SagaHandlerDefinition,
    envelope: Envelope,
    correlated?: Correlated,
  ): Promise<SagaOutcome> {
    const { conflictRetries } = this.deps.options;
    for (let conflicts = 0; ; conflicts++) {
      try {
        const outcome = await this.attempt(saga, handler, envelope, correlated);
        return conflicts > 0 ? { ...outcome, conflicts } : outcome;
      } catch (error) {
        if (error instanceof ConcurrencyError) {
          this.deps.telemetry?.conflict(saga.name);
          this.deps.counters.sagaCommitConflicts++;
        }
        if (!(error instanceof ConcurrencyError) || conflicts >= conflictRetries) throw error;
        this.deps.logger.debug('saga commit conflict, rerunning', {
          saga: saga.name,
          messageId: envelope.id,
        });
        await jitter(conflicts);
      }
    }
  }

  private async attempt(
    definition: SagaDefinition,
    handler: SagaHandlerDefinition,
    envelope: Envelope,
    correlated: Correlated | undefined,
  ): Promise<SagaOutcome> {
    const { store, logger, options } = this.deps;
    const found = await this.find(definition, handler, envelope, correlated);
    let record = found.record;
    // An instance stored under a former name (an alias) stays under it: its id, its timeouts'
    // headers and its outgoing message ids all derive from that name.
    const saga =
      record && record.sagaType !== definition.name ? { ...definition, name: record.sagaType } : definition;
    let restarting = false;
    if (!record) {
      if (handler.role === 'timeout') {
        logger.info('timeout for a saga that no longer exists ignored', { saga: saga.name, id: envelope.id });
        return { saga: saga.name, result: 'timeout-ignored' };
      }
      if (handler.role !== 'start') return this.notFound(saga, handler, envelope, found.key);
      record = this.newRecord(saga, found.key);
    } else if (record.inbox.some((e) => e.id === envelope.id)) {
      // Handled before: never rerun. What that handling left pending is sent by whoever claims it:
      // entries still leased (their committer may be waiting for a confirm) or backing off are
      // left alone; those past it (a crash after commit) are claimed and sent here.
      const pending = record.outbox.filter((e) => e.sourceMessageId === envelope.id);
      if (pending.length > 0) await this.deps.outbox.dispatchDue(record, pending);
      this.duplicates++;
      logger.debug('duplicate message acknowledged, handled before', {
        saga: saga.name,
        sagaId: record.id,
        type: envelope.type,
        messageId: envelope.id,
        duplicates: this.duplicates,
      });
      return { saga: saga.name, sagaId: record.id, result: 'duplicate' };
    } else if (record.status === 'completed') {
      if (handler.role !== 'start' || startPolicies(saga, handler).onCompleted !== 'restart') {
        return refuse(this.deps.logger, saga, handler, envelope, record);
      }
      record = restarted(record);
      restarting = true;
    } else if (handler.role === 'start' && startPolicies(saga, handler).onExisting !== 'handle') {
      return refuse(this.deps.logger, saga, handler, envelope, record);
    }
    record = evolve(saga, record);
    const firedTimeout = handler.role === 'timeout' ? envelope.id : undefined;
    if (firedTimeout !== undefined && !record.timeouts.some((t) => t.id === firedTimeout)) {
      logger.info('cancelled or stale timeout ignored', {
        saga: saga.name,
        sagaId: record.id,
        id: envelope.id,
      });
      return { saga: saga.name, sagaId: record.id, result: 'timeout-ignored' };
    }

    const now = this.deps.now();
    const stateBefore = record.state ?? {};
    const appendOnly = appendOnlyArray(saga, stateBefore);
    const context = new SagaContextImpl<unknown>(
      copyState(stateBefore, appendOnly),
      envelope,
      saga.name,
      record.id,
      record.correlationKey,
      record.version === 0 || restarting,
      record.timeouts,
      this.deps.collector(envelope, `saga:${saga.name}:${record.id}`),
      this.deps.endpoint,
      now,
    );
    context.loadedVersion = record.version;
    const instance = (saga.instance ?? this.deps.resolve(saga.ctor)) as Record<string | symbol, unknown>;
    const method = instance[handler.method];
    if (typeof method !== 'function') {
      throw new NonRetryableError(`${saga.ctor.name}.${String(handler.method)} is not a method`);
    }
    const base = record;
    const build = (
      version: number,
      final: boolean,
      inbox: SagaRecord['inbox'] = base.inbox,
    ): Omit<SagaRecord, 'outbox'> => {
      const completed = final && context.completed;
      return {
        sagaType: saga.name,
        id: base.id,
        correlationKey: base.correlationKey,
        version,
        status: completed ? 'completed' : 'active',
        state: completed ? null : context.state,
        inbox,
        // A checkpoint keeps a fired timeout pending: its redelivery must still be handled.
        timeouts: completed ? [] : context.remainingTimeouts(final ? firedTimeout : undefined),
        createdAt: base.createdAt,
        updatedAt: now,
        retainUntil: completed ? new Date(now.getTime() + options.tombstoneRetentionMs) : undefined,
        labels: applyLabels(base.labels, context.labels),
        stateVersion: base.stateVersion,
      };
    };
    // Checkpoints (workflow steps) commit part of the handling before it ends; the final commit
    // then follows from the version they left, with the entries they did not commit. What they
    // committed is dispatched after the final commit (their claims keep the sweeper off until
    // then; after a crash, the sweeper sends them once the claims' lease ran out), so a timer or
    // a reply cannot come back while this handling still runs.
    let expected = record.version;
    let checkpointed = 0;
    // An append-only array the handler only appended to is stored by appending (see `StateAppend`).
    const copied = appendOnly && (context.state as Record<string, unknown>)[appendOnly.field];
    let stored = appendOnly && { keys: Object.keys(stateBefore), items: appendOnly.items.length };
    const append = (): StateAppend | undefined => {
      const state = context.state as Record<string, unknown> | null;
      if (!appendOnly || !stored || context.completed || !state || typeof state !== 'object')
        return undefined;
      const items = state[appendOnly.field];
      if (items !== copied || !Array.isArray(items) || items.length < stored.items) return undefined;
      return {
        field: appendOnly.field,
        from: stored.items,
        removed: stored.keys.filter((key) => !(key in state)),
      };
    };
    const appended = (): void => {
      const state = context.state as Record<string, unknown> | null;
      const items = state && typeof state === 'object' ? state[appendOnly!.field] : undefined;
      stored =
        items === copied && Array.isArray(items)
          ? { keys: Object.keys(state!), items: items.length }
          : undefined;
    };
    const held: { entries: OutboxEntry[]; token: string }[] = [];
    context.checkpointer = async () => {
      const entries = context.outgoing.entries.slice(checkpointed);
      const claimed = this.deps.outbox.claimForCommit(entries);
      const appending = append();
      await store.commit({
        expectedVersion: expected,
        newOutbox: claimed.entries,
        record: build(expected + 1, false),
        ...(appending ? { append: appending } : {}),
        ...(saga.appendOnly !== undefined ? { appendOnly: saga.appendOnly } : {}),
      });
      if (appendOnly) appended();
      expected += 1;
      checkpointed += entries.length;
      if (claimed.entries.length > 0) held.push(claimed);
    };
    try {
      await method.call(instance, envelope.body, context);
    } finally {
      context.seal();
    }

    if (context.completed) context.cancelRemaining(firedTimeout);
    const { entries: outgoing, token } = this.deps.outbox.claimForCommit(
      context.outgoing.entries.slice(checkpointed),
    );
    const inbox = recordHandled(record.inbox, envelope.id, now, {
      windowMs: options.dedupeWindowMs,
      cap: options.inboxSize,
    });
    const committed: Omit<SagaRecord, 'outbox'> = build(expected + 1, true, inbox.inbox);
    const appending = append();
    const commit = {
      expectedVersion: expected,
      newOutbox: outgoing,
      record: committed,
      ...(appending ? { append: appending } : {}),
      ...(saga.appendOnly !== undefined ? { appendOnly: saga.appendOnly } : {}),
    };
    const telemetry = this.deps.telemetry;
    if (telemetry?.tracing) {
      const attributes = {
        [Attr.sagaType]: saga.name,
        [Attr.sagaId]: record.id,
        [Attr.sagaVersion]: committed.version,
        'longhaul.outbox.entries': outgoing.length,
      };
      await telemetry.span(`commit ${saga.name}`, attributes, () => store.commit(commit));
    } else await store.commit(commit);
    context.onCommitted?.(committed.version);
    if (inbox.evicted.length > 0) this.evictedInWindow(saga, record.id, inbox.evicted, now);
    // Only this commit's entries, claimed by the commit itself: older pending ones belong to their
    // claim holders, then to a redelivery of their own message or the sweeper once due.
    for (const claimed of held)
      await this.deps.outbox.dispatchClaimed(committed, claimed.entries, claimed.token);
    if (outgoing.length > 0) await this.deps.outbox.dispatchClaimed(committed, outgoing, token);
    return {
      saga: saga.name,
      sagaId: record.id,
      result: 'committed',
      stateBefore: record.version === 0 ? undefined : stateBefore,
      stateAfter: context.completed ? undefined : context.state,
      completed: context.completed,
      outgoing,
    };
  }

  /** The instance the message is for; `correlated`: its correlation value and id, if known already. */
  private async find(
    saga: SagaDefinition,
    handler: SagaHandlerDefinition,
    envelope: Envelope,
    correlated?: Correlated,
  ): Promise<{ record?: SagaRecord; key: string }> {
    const targetId = envelope.headers[Headers.sagaId];
    const names = storedNames(saga);
    if (handler.role === 'timeout') {
      const targetType = envelope.headers[Headers.sagaType];
      if (targetType === undefined || !names.includes(targetType) || !targetId) {
        throw new NonRetryableError(
          `Timeout '${envelope.type}' carries no ${Headers.sagaType}/${Headers.sagaId} headers for saga '${saga.name}'`,
          { code: 'timeout-without-target' },
        );
      }
      const known = saga.knownItems?.({ id: targetId });
      const record = await this.deps.store.findById(targetType, targetId, known ? { known } : undefined);
      return { record, key: record?.correlationKey ?? targetId };
    }
    const key = correlated?.key ?? correlationKeyOf(saga, handler, envelope);
    // The current name first; former names (aliases) only when it has no instance for the key.
    for (const name of names) {
      const id = correlated && name === saga.name ? correlated.id : sagaInstanceId(name, key);
      const known = saga.knownItems?.({ id, correlationKey: key });
      const record = await this.deps.store.findByCorrelation(name, key, known ? { id, known } : { id });
      if (record) return { record, key };
    }
    return { key };
  }

  private evictedInWindow(
    saga: SagaDefinition,
    sagaId: string,
    evicted: readonly { readonly at: Date }[],
    now: Date,
  ): void {
    this.deps.counters.inboxEvictedInWindow += evicted.length;
    const { inboxSize, dedupeWindowMs } = this.deps.options;
    this.deps.logger.warn(
      'saga inbox cap evicted handled-message ids still inside the dedupe window: a redelivery of them would be handled again; raise sagaOptions.inboxSize or shorten sagaOptions.dedupeWindow',
      {
        saga: saga.name,
        sagaId,
        evicted: evicted.length,
        youngestEvictedAgeMs: now.getTime() - (evicted.at(-1)?.at.getTime() ?? now.getTime()),
        inboxSize,
        dedupeWindowMs,
      },
    );
  }

  private notFound(
    saga: SagaDefinition,
    handler: SagaHandlerDefinition,
    envelope: Envelope,
    key: string,
  ): SagaOutcome {
    const text = `No ${saga.name} instance for '${key}' (message ${envelope.type} ${envelope.id})`;
    const policy = handler.notFound ?? this.deps.options.notFound;
    if (policy === 'error') throw new SagaNotFoundError(text);
    if (policy === 'retry')
      throw new LonghaulError('saga-not-found-yet', `${text}: retrying, it may not exist yet`);
    this.deps.logger.info(`${text}: acknowledged (saga-not-found policy 'log')`);
    return { saga: saga.name, result: 'not-found' };
  }

  private newRecord(saga: SagaDefinition, key: string): SagaRecord {
    const now = this.deps.now();
    return {
      sagaType: saga.name,
      id: sagaInstanceId(saga.name, key),
      correlationKey: key,
      version: 0,
      status: 'active',
      state: null,
      outbox: [],
      inbox: [],
      timeouts: [],
      createdAt: now,
      updatedAt: now,
      stateVersion: saga.stateVersion,
    };
  }
}

/** The instance id of a saga type's instance for a correlation value (stable, so reruns agree). */
export { sagaInstanceId };
