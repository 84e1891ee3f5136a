import { frozenCopy } from '../../util/clone.js';
import { TwoKeyMap } from '../../util/two-key-map.js';
import { ConcurrencyError } from '../../errors.js';
import {
  type InstanceFilter,
  type OutboxClaim,
  type OutboxEntry,
  type SagaCommit,
  type SagaRecord,
  type SagaStore,
  type StateAppend,
} from '../saga-store.js';
import { InMemoryInstanceAdmin } from './in-memory-admin.js';
import { InMemoryDeadLetterStore } from './in-memory-dead-letters.js';

/**
 * The embedded saga store: records in a map, with the same conditional-commit semantics as the
 * MongoDB store (see `saga-store.ts`). It makes version conflicts real: two handlers that loaded
 * one version race, and the second commit fails.
 *
 * A stored record is an immutable value: a commit writes a deep copy of what it was given, frozen
 * (see {@link frozenCopy}), and every read returns that record itself, so a read copies nothing and
 * a caller that tried to change it gets a `TypeError`. What a commit takes over from the record it
 * replaces (inbox entries, outbox entries, the items of an append-only array: anything this store
 * froze before) is shared, not copied again, so a commit copies only what is new.
 */
export class InMemorySagaStore implements SagaStore {
  /** By saga type, then instance id. */
  private readonly records = new TwoKeyMap<SagaRecord>();
  /** Instance ids by saga type, then correlation value. */
  private readonly byCorrelation = new TwoKeyMap<string>();
  readonly deadLetters = new InMemoryDeadLetterStore();
  readonly admin = new InMemoryInstanceAdmin(() => this.records.values());

  async init(): Promise<void> {}

  async findByCorrelation(sagaType: string, correlationKey: string): Promise<SagaRecord | undefined> {
    const id = this.byCorrelation.get(sagaType, correlationKey);
    return id === undefined ? undefined : this.records.get(sagaType, id);
  }

  async findById(sagaType: string, id: string): Promise<SagaRecord | undefined> {
    return this.records.get(sagaType, id);
  }

  async commit(commit: SagaCommit): Promise<void> {
    const { record, expectedVersion, newOutbox } = commit;
    const stored = this.records.get(record.sagaType, record.id);
    const inserting = expectedVersion === 0;
    if (inserting) {
      if (stored || this.byCorrelation.has(record.sagaType, record.correlationKey)) {
        throw new ConcurrencyError(`${record.sagaType} '${record.correlationKey}' already exists`);
      }
    } else if (!stored || stored.version !== expectedVersion) {
      throw new ConcurrencyError(
        `${record.sagaType} ${record.id}: expected version ${expectedVersion}, found ${stored?.version ?? 'none'}`,
      );
    }
    // The copy first: a value it refuses (a cycle, say) throws before anything is written.
    // Stored entries are never changed in place (every update writes new ones), so the new outbox
    // shares them and copies only the commit's own entries.
    const added = newOutbox.length === 0 ? NO_ENTRIES : frozenCopy(newOutbox);
    const outbox = stored && stored.outbox.length > 0 ? Object.freeze(stored.outbox.concat(added)) : added;
    const next = storedRecord(record, outbox, stored, commit.append);
    if (inserting) this.byCorrelation.set(record.sagaType, record.correlationKey, record.id);
    this.records.set(record.sagaType, record.id, next);
  }

  async markDispatched(sagaType: string, id: string, entryIds: readonly string[]): Promise<void> {
    const stored = this.records.get(sagaType, id);
    if (!stored) return;
    const done = new Set(entryIds);
    this.records.set(
      sagaType,
      id,
      withOutbox(
        stored,
        stored.outbox.filter((e) => !done.has(e.id)),
      ),
    );
  }

  async claimOutbox(
    sagaType: string,
    id: string,
    claims: readonly OutboxClaim[],
    lease: { readonly token: string; readonly until: Date },
  ): Promise<boolean> {
    const stored = this.records.get(sagaType, id);
    if (!stored) return false;
    const wanted = new Map(claims.map((c) => [c.entryId, c.expectedClaim]));
    const held = stored.outbox.filter((e) => wanted.has(e.id));
    if (held.length !== wanted.size || held.some((e) => e.claim !== wanted.get(e.id))) return false;
    const outbox = stored.outbox.map((e): OutboxEntry =>
      wanted.has(e.id)
        ? frozenCopy({
            ...e,
            claim: lease.token,
            nextAttemptAt: lease.until,
            attempts: (e.attempts ?? 0) + 1,
          })
        : e,
    );
    this.records.set(sagaType, id, withOutbox(stored, outbox));
    return true;
  }

  async recordOutboxFailure(
    sagaType: string,
    id: string,
    entryId: string,
    token: string,
    failure: { readonly nextAttemptAt: Date; readonly error: string },
  ): Promise<boolean> {
    const stored = this.records.get(sagaType, id);
    if (!stored?.outbox.some((e) => e.id === entryId && e.claim === token)) return false;
    const outbox = stored.outbox.map((e): OutboxEntry =>
      e.id === entryId
        ? frozenCopy({ ...e, nextAttemptAt: failure.nextAttemptAt, lastError: failure.error })
        : e,
    );
    this.records.set(sagaType, id, withOutbox(stored, outbox));
    return true;
  }

  async findDueOutbox(now: Date, limit: number): Promise<SagaRecord[]> {
    const due = (r: SagaRecord): number => Math.min(...r.outbox.map((e) => dueTime(e)));
    return [...this.records.values()]
      .filter((r) => r.outbox.length > 0 && due(r) <= now.getTime())
      .sort((a, b) => due(a) - due(b))
      .slice(0, limit);
  }

  async oldestPendingOutbox(): Promise<Date | undefined> {
    let oldest: number | undefined;
    for (const record of this.records.values()) {
      for (const entry of record.outbox) {
        if (oldest === undefined || entry.createdAt.getTime() < oldest) oldest = entry.createdAt.getTime();
      }
    }
    return oldest === undefined ? undefined : new Date(oldest);
  }

  async list(
    sagaType: string,
    filter: InstanceFilter,
    page: { limit: number; after?: string },
  ): Promise<SagaRecord[]> {
    const matches = (r: SagaRecord): boolean =>
      r.sagaType === sagaType &&
      (page.after === undefined || r.id > page.after) &&
      Object.entries(filter.labels ?? {}).every(([k, v]) => r.labels?.[k] === v) &&
      (filter.createdAfter === undefined || r.createdAt.getTime() > filter.createdAfter.getTime()) &&
      (filter.createdBefore === undefined || r.createdAt.getTime() < filter.createdBefore.getTime()) &&
      (filter.updatedBefore === undefined || r.updatedAt.getTime() < filter.updatedBefore.getTime());
    return [...this.records.values()]
      .filter(matches)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, page.limit);
  }

  async delete(sagaType: string, id: string): Promise<boolean> {
    const record = this.records.get(sagaType, id);
    if (!record) return false;
    this.records.delete(sagaType, id);
    this.byCorrelation.delete(sagaType, record.correlationKey);
    return true;
  }

  async deleteExpiredTombstones(now: Date): Promise<number> {
    let deleted = 0;
    for (const record of [...this.records.values()]) {
      if (
        record.status === 'completed' &&
        record.outbox.length === 0 &&
        record.retainUntil !== undefined &&
        record.retainUntil.getTime() <= now.getTime()
      ) {
        this.records.delete(record.sagaType, record.id);
        this.byCorrelation.delete(record.sagaType, record.correlationKey);
        deleted++;
      }
    }
    return deleted;
  }

  async close(): Promise<void> {}

  /** The number of stored records, tombstones included (for tests). */
  get size(): number {
    return this.records.size;
  }
}

const NO_ENTRIES: readonly OutboxEntry[] = Object.freeze([]);

/**
 * The record a commit stores: a frozen deep copy of `record` with `outbox`, sharing what it kept
 * of `stored` (the record it replaces): inbox and timeout entries, and under a valid `append` the
 * append-only array's stored items. Those are frozen already and never copied again.
 */
function storedRecord(
  record: Omit<SagaRecord, 'outbox'>,
  outbox: readonly OutboxEntry[],
  stored: SagaRecord | undefined,
  append: StateAppend | undefined,
): SagaRecord {
  const copy: Record<string, unknown> = {};
  for (const field of Object.keys(record)) {
    const value = (record as Record<string, unknown>)[field];
    if (field === 'inbox' || field === 'timeouts')
      copy[field] = sharing(value as readonly unknown[], stored?.[field]);
    else if (field === 'state') continue;
    // A value the commit kept from the stored record (its createdAt, unchanged labels) is frozen.
    else if (stored && value === (stored as unknown as Record<string, unknown>)[field]) copy[field] = value;
    else copy[field] = frozenCopy(value);
  }
  copy.state = storedState(record.state, stored?.state, append);
  copy.outbox = outbox;
  return Object.freeze(copy) as unknown as SagaRecord;
}

/** A frozen copy of `items`, taking the items that are also in `before` (frozen) as they are. */
function sharing(items: readonly unknown[], before: readonly unknown[] | undefined): readonly unknown[] {
  if (!Array.isArray(items) || !before || before.length === 0) return frozenCopy(items);
  const out = new Array<unknown>(items.length);
  // Kept items come in their stored order (dropped ones leave gaps), so the search only moves on.
  let next = 0;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    let found = -1;
    if (typeof item === 'object' && item !== null && Object.isFrozen(item)) {
      for (let j = next; j < before.length; j++) {
        if (before[j] === item) {
          found = j;
          break;
        }
      }
    }
    if (found >= 0) next = found + 1;
    out[i] = found >= 0 ? item : frozenCopy(item);
  }
  return Object.freeze(out);
}

/**
 * The state to store. Under a valid `append` (the stored array holds exactly the `from` items the
 * commit says it kept), the stored items are taken as they are and only the new ones copied.
 */
function storedState(state: unknown, before: unknown, append: StateAppend | undefined): unknown {
  const kept = append && arrayIn(before, append.field);
  const after = append && arrayIn(state, append.field);
  if (!append || !kept || !after || kept.length !== append.from || after.length < append.from)
    return frozenCopy(state);
  const copy: Record<string, unknown> = {};
  for (const field of Object.keys(state as object)) {
    if (field !== append.field) copy[field] = frozenCopy((state as Record<string, unknown>)[field]);
  }
  copy[append.field] = Object.freeze(kept.concat(frozenCopy(after.slice(append.from))));
  return Object.freeze(copy);
}

/** The array at `state[field]`, if the state is an object holding one there. */
function arrayIn(state: unknown, field: string): readonly unknown[] | undefined {
  if (typeof state !== 'object' || state === null) return undefined;
  const items = (state as Record<string, unknown>)[field];
  return Array.isArray(items) ? items : undefined;
}

/** `stored` with another outbox: a new frozen record sharing everything else. */
function withOutbox(stored: SagaRecord, outbox: readonly OutboxEntry[]): SagaRecord {
  return Object.freeze(Object.assign({}, stored, { outbox: Object.freeze(outbox) }));
}

function dueTime(entry: OutboxEntry): number {
  return (entry.nextAttemptAt ?? entry.createdAt).getTime();
}
