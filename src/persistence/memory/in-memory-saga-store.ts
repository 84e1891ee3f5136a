import { cloneData } from '../../util/clone.js';
import { ConcurrencyError } from '../../errors.js';
import {
  type InstanceFilter,
  type OutboxClaim,
  type OutboxEntry,
  type SagaCommit,
  type SagaRecord,
  type SagaStore,
} from '../saga-store.js';
import { InMemoryInstanceAdmin } from './in-memory-admin.js';
import { InMemoryDeadLetterStore } from './in-memory-dead-letters.js';

/**
 * The embedded saga store: records in a map, copied on every read and write, with the same
 * conditional-commit semantics as the MongoDB store (see `saga-store.ts`). It makes version
 * conflicts real: two handlers that loaded one version race, and the second commit fails.
 *
 * A commit with {@link SagaCommit.append} copies only the new items of the append-only array and
 * keeps them frozen (deeply); reads share those frozen items in a new array, so neither a read nor
 * a commit copies the whole array (a workflow's history) again.
 */
export class InMemorySagaStore implements SagaStore {
  private readonly records = new Map<string, SagaRecord>();
  private readonly byCorrelation = new Map<string, string>();
  /** Records whose append-only array (this field) holds frozen items shared by reads. */
  private readonly appendOnly = new Map<string, string>();
  readonly deadLetters = new InMemoryDeadLetterStore();
  readonly admin = new InMemoryInstanceAdmin(() => this.records.values());

  async init(): Promise<void> {}

  async findByCorrelation(sagaType: string, correlationKey: string): Promise<SagaRecord | undefined> {
    const id = this.byCorrelation.get(key(sagaType, correlationKey));
    const record = id === undefined ? undefined : this.records.get(key(sagaType, id));
    return record && this.copy(record);
  }

  async findById(sagaType: string, id: string): Promise<SagaRecord | undefined> {
    const record = this.records.get(key(sagaType, id));
    return record && this.copy(record);
  }

  async commit(commit: SagaCommit): Promise<void> {
    const { record, expectedVersion, newOutbox } = commit;
    const recordKey = key(record.sagaType, record.id);
    const stored = this.records.get(recordKey);
    const correlation = key(record.sagaType, record.correlationKey);
    if (expectedVersion === 0) {
      if (stored || this.byCorrelation.has(correlation)) {
        throw new ConcurrencyError(`${record.sagaType} '${record.correlationKey}' already exists`);
      }
      this.byCorrelation.set(correlation, record.id);
    } else if (!stored || stored.version !== expectedVersion) {
      throw new ConcurrencyError(
        `${record.sagaType} ${record.id}: expected version ${expectedVersion}, found ${stored?.version ?? 'none'}`,
      );
    }
    // Stored entries are never changed in place (every update writes new ones), so the new outbox
    // shares them and copies only the commit's own entries.
    const added = cloneData(newOutbox);
    const outbox = stored && stored.outbox.length > 0 ? stored.outbox.concat(added) : added;
    const append = commit.append;
    const before = append && stored && arrayIn(stored.state, append.field);
    const after = append && arrayIn(record.state, append.field);
    if (!append || !before || !after || before.length !== append.from || after.length < append.from) {
      this.appendOnly.delete(recordKey);
      this.records.set(recordKey, withOutbox(cloneData({ ...record, outbox: NO_ENTRIES }), outbox));
      return;
    }
    const { [append.field]: _items, ...rest } = record.state as Record<string, unknown>;
    const appended = after.slice(append.from).map((item) => deepFreeze(cloneData(item)));
    const frozen = (this.appendOnly.get(recordKey) === append.field ? before : before.map(deepFreeze)).concat(
      appended,
    );
    const copy = cloneData({ ...record, state: rest, outbox: NO_ENTRIES });
    this.records.set(recordKey, {
      ...copy,
      state: { ...(copy.state as object), [append.field]: frozen },
      outbox,
    });
    this.appendOnly.set(recordKey, append.field);
  }

  /** A copy of a stored record; the items of its append-only array are shared (they are frozen). */
  private copy(record: SagaRecord): SagaRecord {
    const field = this.appendOnly.get(key(record.sagaType, record.id));
    const items = field === undefined ? undefined : arrayIn(record.state, field);
    if (field === undefined || !items) return cloneData(record);
    const { [field]: _items, ...rest } = record.state as Record<string, unknown>;
    const copy = cloneData({ ...record, state: rest });
    return { ...copy, state: { ...(copy.state as object), [field]: items.slice() } };
  }

  async markDispatched(sagaType: string, id: string, entryIds: readonly string[]): Promise<void> {
    const recordKey = key(sagaType, id);
    const stored = this.records.get(recordKey);
    if (!stored) return;
    const done = new Set(entryIds);
    this.records.set(recordKey, { ...stored, outbox: stored.outbox.filter((e) => !done.has(e.id)) });
  }

  async claimOutbox(
    sagaType: string,
    id: string,
    claims: readonly OutboxClaim[],
    lease: { readonly token: string; readonly until: Date },
  ): Promise<boolean> {
    const recordKey = key(sagaType, id);
    const stored = this.records.get(recordKey);
    if (!stored) return false;
    const wanted = new Map(claims.map((c) => [c.entryId, c.expectedClaim]));
    const held = stored.outbox.filter((e) => wanted.has(e.id));
    if (held.length !== wanted.size || held.some((e) => e.claim !== wanted.get(e.id))) return false;
    const outbox = stored.outbox.map((e): OutboxEntry =>
      wanted.has(e.id)
        ? { ...e, claim: lease.token, nextAttemptAt: new Date(lease.until), attempts: (e.attempts ?? 0) + 1 }
        : e,
    );
    this.records.set(recordKey, { ...stored, outbox });
    return true;
  }

  async recordOutboxFailure(
    sagaType: string,
    id: string,
    entryId: string,
    token: string,
    failure: { readonly nextAttemptAt: Date; readonly error: string },
  ): Promise<boolean> {
    const recordKey = key(sagaType, id);
    const stored = this.records.get(recordKey);
    if (!stored?.outbox.some((e) => e.id === entryId && e.claim === token)) return false;
    const outbox = stored.outbox.map((e): OutboxEntry =>
      e.id === entryId
        ? { ...e, nextAttemptAt: new Date(failure.nextAttemptAt), lastError: failure.error }
        : e,
    );
    this.records.set(recordKey, { ...stored, outbox });
    return true;
  }

  async findDueOutbox(now: Date, limit: number): Promise<SagaRecord[]> {
    const due = (r: SagaRecord): number => Math.min(...r.outbox.map((e) => dueTime(e)));
    return [...this.records.values()]
      .filter((r) => r.outbox.length > 0 && due(r) <= now.getTime())
      .sort((a, b) => due(a) - due(b))
      .slice(0, limit)
      .map((r) => this.copy(r));
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
      .slice(0, page.limit)
      .map((r) => this.copy(r));
  }

  async delete(sagaType: string, id: string): Promise<boolean> {
    const record = this.records.get(key(sagaType, id));
    if (!record) return false;
    this.records.delete(key(sagaType, id));
    this.appendOnly.delete(key(sagaType, id));
    this.byCorrelation.delete(key(sagaType, record.correlationKey));
    return true;
  }

  async deleteExpiredTombstones(now: Date): Promise<number> {
    let deleted = 0;
    for (const [recordKey, record] of this.records) {
      if (
        record.status === 'completed' &&
        record.outbox.length === 0 &&
        record.retainUntil !== undefined &&
        record.retainUntil.getTime() <= now.getTime()
      ) {
        this.records.delete(recordKey);
        this.appendOnly.delete(recordKey);
        this.byCorrelation.delete(key(record.sagaType, record.correlationKey));
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

/** Stands in for the outbox while a committed record is copied (its outbox is built apart). */
const NO_ENTRIES: readonly OutboxEntry[] = Object.freeze([]);

/** `copy` (a fresh record of this store's own) with `outbox` in place of its placeholder. */
function withOutbox(copy: SagaRecord, outbox: readonly OutboxEntry[]): SagaRecord {
  (copy as { outbox: readonly OutboxEntry[] }).outbox = outbox;
  return copy;
}

function dueTime(entry: OutboxEntry): number {
  return (entry.nextAttemptAt ?? entry.createdAt).getTime();
}

/** The array at `state[field]`, if the state is an object holding one there. */
function arrayIn(state: unknown, field: string): unknown[] | undefined {
  if (typeof state !== 'object' || state === null) return undefined;
  const items = (state as Record<string, unknown>)[field];
  return Array.isArray(items) ? items : undefined;
}

/** Freezes a value and everything in it (a stored item shared by reads must not change). */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

function key(a: string, b: string): string {
  return `${a}\u0000${b}`;
}
