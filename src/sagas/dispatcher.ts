import { cloneData } from '../util/clone.js';
import { type OutgoingCollector } from '../bus/outgoing.js';
import { ConcurrencyError, LonghaulError, NonRetryableError, SagaNotFoundError } from '../errors.js';
import { type Envelope, Headers } from '../messages/envelope.js';
import {
  type OutboxEntry,
  type SagaRecord,
  type SagaStore,
  type StateAppend,
} from '../persistence/saga-store.js';
import { sagaInstanceId } from '../util/ids.js';
import { KeyedQueue } from '../util/keyed-queue.js';
import { type Logger } from '../util/logger.js';
import { Attr } from '../telemetry/names.js';
import { type Telemetry } from '../telemetry/telemetry.js';
import { applyLabels, SagaContextImpl } from './context.js';
import { evolve, storedNames } from './evolution.js';
import { refuse, restarted } from './start-policy.js';
import { recordHandled } from './inbox.js';
import { type SagaDefinition, type SagaHandlerDefinition, startPolicies } from './metadata.js';

/**
 * How the commit path treats a message that matches no instance and may not start one: `log` and
 * acknowledge, `error` (straight to the error queue), or `retry` (the instance may not exist *yet*:
 * immediate and delayed retries, then the error queue).
 */
export type SagaNotFoundPolicy = 'log' | 'error' | 'retry';

/** What happened when one saga type handled one message (for tracing and tests). */
export interface SagaOutcome {
  readonly saga: string;
  readonly sagaId?: string;
  readonly result:
    | 'committed'
    | 'duplicate'
    | 'not-found'
    | 'completed-ignored'
    | 'timeout-ignored'
    /** A start message found an active instance and its `onExisting` is `ignore`. */
    | 'existing-ignored';
  readonly stateBefore?: unknown;
  readonly stateAfter?: unknown;
  readonly completed?: boolean;
  readonly outgoing?: readonly OutboxEntry[];
  /** Commit attempts lost to a concurrent writer before this one won. */
  readonly conflicts?: number;
}

/** The part of the outbox dispatcher the commit path uses (the endpoint passes its `OutboxDispatcher`). */
export interface SagaOutbox {
  /** Stamps entries about to be committed with a claim the committer holds; returns its token. */
  claimForCommit(entries: readonly OutboxEntry[]): { entries: OutboxEntry[]; token: string };
  /** Carries out entries held under `token`; `record` is the instance as of the commit or later. */
  dispatchClaimed(
    record: Pick<SagaRecord, 'sagaType' | 'id' | 'timeouts'>,
    entries: readonly OutboxEntry[],
    token: string,
  ): Promise<unknown>;
  /** Claims the due ones among `entries` (as read in `record`) and carries them out. */
  dispatchDue(record: SagaRecord, entries: readonly OutboxEntry[]): Promise<unknown>;
}

/** What the commit path needs from its surroundings. */
export interface SagaDispatcherDeps {
  readonly store: SagaStore;
  readonly logger: Logger;
  readonly endpoint: string;
  readonly now: () => Date;
  /** Builds the instance that runs a handler (the Inversify container in production). */
  readonly resolve: (ctor: new (...args: any[]) => object) => object;
  /** Makes the collector for one handler run in one instance. */
  readonly collector: (incoming: Envelope, scope: string) => OutgoingCollector;
  /** Claims, dispatches and retires outbox entries (see `endpoint/outbox.ts`). */
  readonly outbox: SagaOutbox;
  /** Counts ids the inbox cap evicted while still inside the dedupe window (the endpoint's counters). */
  readonly counters: { inboxEvictedInWindow: number };
  readonly options: {
    readonly conflictRetries: number;
    /** The inbox cap: at most this many handled ids per instance. */
    readonly inboxSize: number;
    /** Handled ids are kept at least this long. */
    readonly dedupeWindowMs: number;
    readonly tombstoneRetentionMs: number;
    readonly notFound: SagaNotFoundPolicy;
  };
  /** Spans of handlings and commits, and the conflict count. @defaultValue none */
  readonly telemetry?: Telemetry;
}

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
    const instance = instanceKeyOf(saga, handler, envelope);
    if (instance === undefined) return this.traced(saga, handler, envelope);
    return this.perInstance.run(instance, () => this.traced(saga, handler, envelope));
  }

  /** {@link SagaDispatcher.handleNow} in a `saga <type>` span telling the instance and the outcome. */
  private traced(
    saga: SagaDefinition,
    handler: SagaHandlerDefinition,
    envelope: Envelope,
  ): Promise<SagaOutcome> {
    const telemetry = this.deps.telemetry;
    if (!telemetry?.tracing) return this.handleNow(saga, handler, envelope);
    const attributes = {
      [Attr.sagaType]: saga.name,
      [Attr.messageType]: envelope.type,
      [Attr.handler]: handler.role,
    };
    return telemetry.span(`saga ${saga.name}`, attributes, async (scope) => {
      const outcome = await this.handleNow(saga, handler, envelope);
      scope.set({ [Attr.sagaResult]: outcome.result, [Attr.conflicts]: outcome.conflicts ?? 0 });
      if (outcome.sagaId !== undefined) scope.set({ [Attr.sagaId]: outcome.sagaId });
      return outcome;
    });
  }

  private async handleNow(
    saga: SagaDefinition,
    handler: SagaHandlerDefinition,
    envelope: Envelope,
  ): Promise<SagaOutcome> {
    const { conflictRetries } = this.deps.options;
    for (let conflicts = 0; ; conflicts++) {
      try {
        const outcome = await this.attempt(saga, handler, envelope);
        return conflicts > 0 ? { ...outcome, conflicts } : outcome;
      } catch (error) {
        if (error instanceof ConcurrencyError) this.deps.telemetry?.conflict(saga.name);
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
  ): Promise<SagaOutcome> {
    const { store, logger, options } = this.deps;
    const found = await this.find(definition, handler, envelope);
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
    const build = (version: number, final: boolean): Omit<SagaRecord, 'outbox'> => {
      const completed = final && context.completed;
      return {
        sagaType: saga.name,
        id: base.id,
        correlationKey: base.correlationKey,
        version,
        status: completed ? 'completed' : 'active',
        state: completed ? null : context.state,
        inbox: base.inbox,
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
    const committed: Omit<SagaRecord, 'outbox'> = { ...build(expected + 1, true), inbox: inbox.inbox };
    const appending = append();
    const commit = {
      expectedVersion: expected,
      newOutbox: outgoing,
      record: committed,
      ...(appending ? { append: appending } : {}),
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

  private async find(
    saga: SagaDefinition,
    handler: SagaHandlerDefinition,
    envelope: Envelope,
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
      const record = await this.deps.store.findById(targetType, targetId);
      return { record, key: record?.correlationKey ?? targetId };
    }
    const key = correlationKeyOf(saga, handler, envelope);
    // The current name first; former names (aliases) only when it has no instance for the key.
    for (const name of names) {
      const id = sagaInstanceId(name, key);
      const record = await this.deps.store.findByCorrelation(name, key, { id });
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

/**
 * The instance a message is for, as far as it can be told before reading the store: the target
 * id of a timeout, the id derived from the correlation value otherwise (an instance stored under
 * a former name has another id: its messages are then only not queued together). Undefined when
 * the message has no usable value (the handling reports that).
 */
function instanceKeyOf(
  saga: SagaDefinition,
  handler: SagaHandlerDefinition,
  envelope: Envelope,
): string | undefined {
  if (handler.role === 'timeout') return envelope.headers[Headers.sagaId] || undefined;
  try {
    return sagaInstanceId(saga.name, correlationKeyOf(saga, handler, envelope));
  } catch {
    return undefined;
  }
}

function correlationKeyOf(saga: SagaDefinition, handler: SagaHandlerDefinition, envelope: Envelope): string {
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
function appendOnlyArray(
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
function copyState(
  state: unknown,
  appendOnly: { field: string; items: readonly unknown[] } | undefined,
): unknown {
  if (!appendOnly) return cloneData(state);
  const { [appendOnly.field]: _items, ...rest } = state as Record<string, unknown>;
  return { ...cloneData(rest), [appendOnly.field]: appendOnly.items.slice() };
}

function jitter(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(50, 2 * 2 ** Math.min(attempt, 5));
  return new Promise((resolve) => setTimeout(resolve, ms));
}
