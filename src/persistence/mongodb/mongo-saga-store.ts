/**
 * # The MongoDB saga store
 *
 * Implements the {@link SagaStore} contract (`saga-store.ts`) with single-document atomic writes
 * only, so it needs neither a replica set nor transactions, and it uses only operations that both
 * MongoDB 6/7 and FerretDB v1.24 support.
 *
 * **One shared collection** (`<prefix>sagas`) for every saga and workflow type, not one per type:
 * the outbox sweeper and tombstone cleanup ({@link MongoSagaStore.findPendingOutbox},
 * {@link MongoSagaStore.deleteExpiredTombstones}) span all types with one query each, the store
 * need not know the types in advance, and type names such as `longhaul.Workflow` need no mapping to
 * collection names. The unique index `(sagaType, correlationKey)` keeps one instance per
 * correlation value; `_id` is `<sagaType>/<id>` (the type with `%` and `/` escaped), unique per
 * (type, id) and the key every update goes through.
 *
 * **Commit.** Version 0 inserts; a duplicate key (code 11000, on `_id` or on the correlation
 * index) is a `ConcurrencyError`. Later versions `updateOne({ _id, version: expected }, …)`; no
 * match is a `ConcurrencyError`. The update `$set`s the state, inbox, timeouts and version and
 * adds each new outbox entry under its own key (`$set: { 'outbox.<id>': entry }`), never
 * rewriting `outbox` as a whole. A commit with `append` (a workflow's history) `$push`es only the
 * new items of the append-only array (`$each`) and `$set`s / `$unset`s the state's other fields
 * one by one, in the same conditional update, so what it sends does not grow with the history.
 *
 * **Outbox.** A sub-document keyed by entry id, each entry carrying the version of the commit that
 * added it and its position (the order). {@link MongoSagaStore.markDispatched} `$unset`s keys with
 * no version condition and no version change, so a commit prepared before the marking cannot
 * bring entries back. (An array would need `$pull` with a condition, positional updates or dotted
 * paths into arrays, which FerretDB v1 lacks.)
 *
 * **Claims.** {@link MongoSagaStore.claimOutbox} is one `updateOne` whose filter names every
 * entry with the claim token the caller read (`outbox.<id>.id` exists, `outbox.<id>.claim` equals
 * the token, or `null` for none) and whose update sets the new token and lease end and `$inc`s
 * the attempts: the compare-and-set that decides who sends an entry. A failed attempt is recorded
 * the same way, conditional on the holder's token.
 *
 * **Finding due entries.** `outboxSince` is present while the outbox may hold entries, and is
 * never later than the earliest time one is due (`nextAttemptAt`, else `createdAt`): a commit and a
 * failed attempt lower it with `$min` (which also sets it when absent); `outboxOldest` bounds the
 * entries' `createdAt` the same way. Every write to the entries `$inc`s `outboxRev`. After marking,
 * the store recomputes both markers from the document it got back and writes them only if the
 * version and `outboxRev` are still the ones it saw; when that condition fails they stay, too
 * early but safe. {@link MongoSagaStore.findDueOutbox} queries `outboxSince <= now` in
 * `outboxSince` order (index `longhaul_outbox_since`) and repairs the stale markers it meets.
 *
 * **Listing.** `list` matches labels as `labels.<key>` equalities and pages by `id` (index
 * `(sagaType, id)`). The workflow type and status labels are indexed together; the labels set by
 * `ctx.setLabels` are indexed as `labelTerms` (`<key>=<value>`, one multikey index for every key). The operators' search across types
 * (`admin`, see `mongo-instance-admin.ts`) walks hash buckets by `scanTerms` (`scan-terms.ts`). `delete` removes one document by `_id`.
 *
 * **Documents** keep the state as a plain sub-document and dates as BSON dates; what FerretDB
 * refuses (dotted keys, nested arrays, NaN) is rewritten reversibly (see `value-codec.ts`). Every
 * read checks the shape: a document edited into something the store never writes throws
 * `CorruptDocumentError` (non-retryable, reason `corrupt-document`).
 *
 * Non-goals: queries on state fields, TTL indexes (FerretDB has none; tombstones are deleted by
 * {@link MongoSagaStore.deleteExpiredTombstones}), documents over the server's size limit (16 MiB).
 */
import { type Collection, type Filter, type UpdateFilter } from 'mongodb';
import { ConcurrencyError, ConfigurationError, NonRetryableError } from '../../errors.js';
import { sagaInstanceId } from '../../util/ids.js';
import {
  type InstanceFilter,
  type OutboxClaim,
  type SagaCommit,
  type SagaRecord,
  type SagaStore,
  type StateAppend,
} from '../saga-store.js';
import { mapInChunks, MongoConnection, type MongoStoreOptions } from './connection.js';
import { CorruptDocumentError } from './errors.js';
import { encodeKey, encodeState } from './value-codec.js';
import { MongoDeadLetterStore } from './mongo-dead-letters.js';
import { MongoInstanceAdmin } from './mongo-instance-admin.js';
import { scanFields } from './scan-terms.js';
import { claimEntries, recordFailure, refreshMarkers } from './mongo-outbox.js';
import {
  decodeSaga,
  documentId,
  earliest,
  earliestDue,
  encodeEntry,
  encodeLabels,
  encodeMutable,
  labelTerms,
  outboxKey,
  type SagaDocument,
} from './saga-document.js';

/** Options of {@link MongoSagaStore}. */
export interface MongoSagaStoreOptions extends MongoStoreOptions {
  /** The collection of saga and workflow instances. @defaultValue `${collectionPrefix}sagas` */
  collection?: string;
  /** The collection of the outbox's dead letters. @defaultValue `${collection}_dead_letters` */
  deadLetterCollection?: string;
  /** The collection of the operators' action log. @defaultValue `${collection}_actions` */
  actionCollection?: string;
}

/** Rounds of {@link MongoSagaStore.findPendingOutbox} spent skipping stale markers before it answers. */
const PENDING_ROUNDS = 5;
/** Expired tombstones deleted per sweep (the rest go in the next ones). */
const TOMBSTONES_PER_SWEEP = 1000;
/** Tombstone deletions in flight at once. */
const DELETE_PARALLELISM = 8;

/**
 * The saga store on MongoDB (or FerretDB): one document per instance with its outbox and inbox,
 * committed by one conditional single-document write. See the file header for the layout.
 * @example
 * ```ts
 * const sagaStore = new MongoSagaStore({ url: 'mongodb://localhost:27017/', database: 'shop' });
 * const endpoint = new Endpoint({ name: 'shop', sagas: [OrderFulfilment], sagaStore });
 * await endpoint.start(); // calls sagaStore.init(): connects and creates the indexes
 * ```
 */
export class MongoSagaStore implements SagaStore {
  /** Shows where the store is, never the credentials its client holds. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `MongoSagaStore(${this.connection.describe()})`;
  }

  toJSON(): string {
    return `MongoSagaStore(${this.connection.describe()})`;
  }

  private readonly connection: MongoConnection;
  private readonly collection: Collection<SagaDocument>;
  /** The outbox's dead letters, in their own collection. */
  readonly deadLetters: MongoDeadLetterStore;
  /** Search, counts and the action log (`operations/`). */
  readonly admin: MongoInstanceAdmin;

  /** Validates the options (throws `ConfigurationError` naming the field); connects in `init()`. */
  constructor(options: MongoSagaStoreOptions) {
    this.connection = new MongoConnection(options, 'sagas');
    this.collection = this.connection.collection<SagaDocument>();
    const deadLetterCollection = options.deadLetterCollection ?? `${this.collectionName}_dead_letters`;
    if (typeof deadLetterCollection !== 'string' || !/^[A-Za-z0-9_.-]{1,120}$/.test(deadLetterCollection)) {
      throw new ConfigurationError(
        'deadLetterCollection',
        `expected 1–120 letters, digits, '_', '.' or '-', got ${JSON.stringify(deadLetterCollection)}`,
      );
    }
    this.deadLetters = new MongoDeadLetterStore(this.connection.collection(deadLetterCollection));
    const actionCollection = options.actionCollection ?? `${this.collectionName}_actions`;
    if (typeof actionCollection !== 'string' || !/^[A-Za-z0-9_.-]{1,120}$/.test(actionCollection)) {
      throw new ConfigurationError(
        'actionCollection',
        `expected 1–120 letters, digits, '_', '.' or '-', got ${JSON.stringify(actionCollection)}`,
      );
    }
    this.admin = new MongoInstanceAdmin(
      this.collection,
      this.connection.collection(actionCollection),
      (doc) => this.decode(doc),
    );
  }

  /** The collection name in use. */
  get collectionName(): string {
    return this.connection.collectionName;
  }

  /** Connects (throws `MongoStoreUnavailableError` naming the host) and creates the indexes. */
  async init(): Promise<void> {
    await this.connection.ensureIndexes([
      { key: { sagaType: 1, correlationKey: 1 }, name: 'longhaul_correlation', unique: true },
      { key: { outboxSince: 1 }, name: 'longhaul_outbox_since' },
      { key: { outboxOldest: 1 }, name: 'longhaul_outbox_oldest' },
      { key: { status: 1, retainUntil: 1 }, name: 'longhaul_tombstones' },
      { key: { sagaType: 1, id: 1 }, name: 'longhaul_instances' },
      { key: { 'labels.workflowType': 1, 'labels.status': 1 }, name: 'longhaul_workflow_status' },
      { key: { labelTerms: 1 }, name: 'longhaul_label_terms' },
      { key: { scanTerms: 1, scanBucket: 1, _id: 1 }, name: 'longhaul_scan' },
    ]);
    await this.deadLetters.init();
    await this.admin.init();
  }

  /**
   * By `_id` when the caller knows the instance's id (`hint`: the dispatcher, whose instances all
   * have the id derived from type and correlation value). Otherwise first by that derived `_id`,
   * then by the correlation index for an instance created under another id. On FerretDB, which
   * pushes down only `_id`, the correlation query scans the collection (92 ms with 4,288 instances,
   * against 11.5 ms by `_id`), so the saga messages of the commit path never use it.
   */
  async findByCorrelation(
    sagaType: string,
    correlationKey: string,
    hint?: { readonly id: string },
  ): Promise<SagaRecord | undefined> {
    const derived = await this.collection.findOne({
      _id: documentId(sagaType, hint?.id ?? sagaInstanceId(sagaType, correlationKey)),
    });
    if (derived?.sagaType === sagaType && derived.correlationKey === correlationKey)
      return this.decode(derived);
    if (hint) return undefined;
    const doc = await this.collection.findOne({ sagaType, correlationKey });
    return doc ? this.decode(doc) : undefined;
  }

  async findById(sagaType: string, id: string): Promise<SagaRecord | undefined> {
    const doc = await this.collection.findOne({ _id: documentId(sagaType, id) });
    return doc ? this.decode(doc) : undefined;
  }

  async commit(commit: SagaCommit): Promise<void> {
    const { record, expectedVersion, newOutbox } = commit;
    if (record.version !== expectedVersion + 1) {
      throw new NonRetryableError(
        `${record.sagaType} ${record.id}: a commit on version ${expectedVersion} must write version ${expectedVersion + 1}, not ${record.version}`,
        { code: 'invalid-commit' },
      );
    }
    const _id = documentId(record.sagaType, record.id);
    const mutable = encodeMutable(record);
    const since = earliestDue(newOutbox);
    const oldest = earliest(newOutbox);
    if (expectedVersion === 0) {
      const doc: SagaDocument = {
        _id,
        sagaType: record.sagaType,
        id: record.id,
        correlationKey: record.correlationKey,
        ...mutable,
        createdAt: record.createdAt,
        outbox: Object.fromEntries(
          newOutbox.map((e, i) => [outboxKey(e.id), encodeEntry(e, record.version, i)]),
        ),
      };
      if (record.retainUntil) doc.retainUntil = record.retainUntil;
      if (record.labels) {
        doc.labels = encodeLabels(record.labels);
        doc.labelTerms = labelTerms(record.sagaType, record.labels);
      }
      if (since) doc.outboxSince = since;
      if (oldest) doc.outboxOldest = oldest;
      Object.assign(doc, scanFields({ ...doc, labels: record.labels }));
      try {
        await this.collection.insertOne(doc);
      } catch (error) {
        if (isDuplicateKey(error)) {
          throw new ConcurrencyError(`${record.sagaType} '${record.correlationKey}' already exists`, {
            cause: error,
          });
        }
        throw error;
      }
      return;
    }
    const set: Record<string, unknown> = { ...mutable };
    const unset: Record<string, ''> = {};
    const push = commit.append && appendState(record.state, commit.append, set, unset);
    newOutbox.forEach((entry, i) => {
      set[`outbox.${outboxKey(entry.id)}`] = encodeEntry(entry, record.version, i);
    });
    if (record.retainUntil) set.retainUntil = record.retainUntil;
    else unset.retainUntil = '';
    if (record.labels) {
      set.labels = encodeLabels(record.labels);
      set.labelTerms = labelTerms(record.sagaType, record.labels);
    } else {
      unset.labels = '';
      unset.labelTerms = '';
    }
    Object.assign(set, scanFields({ ...record, _id, labels: record.labels }));
    const update: UpdateFilter<SagaDocument> = { $set: set };
    if (Object.keys(unset).length > 0) update.$unset = unset;
    if (push && Object.keys(push).length > 0) update.$push = push;
    if (since && oldest) update.$min = { outboxSince: since, outboxOldest: oldest };
    const result = await this.collection.updateOne({ _id, version: expectedVersion }, update);
    if (result.matchedCount === 0) {
      throw new ConcurrencyError(
        `${record.sagaType} ${record.id}: expected version ${expectedVersion}, found another (or none)`,
      );
    }
  }

  async markDispatched(sagaType: string, id: string, entryIds: readonly string[]): Promise<void> {
    if (entryIds.length === 0) return;
    const unset = Object.fromEntries(
      entryIds.map((entryId) => [`outbox.${outboxKey(entryId)}`, '' as const]),
    );
    const after = await this.collection.findOneAndUpdate(
      { _id: documentId(sagaType, id) },
      { $unset: unset, $inc: { outboxRev: 1 } },
      { returnDocument: 'after' },
    );
    if (after) await this.refreshMarker(after);
  }

  claimOutbox(
    sagaType: string,
    id: string,
    claims: readonly OutboxClaim[],
    lease: { readonly token: string; readonly until: Date },
  ): Promise<boolean> {
    return claimEntries(this.collection, documentId(sagaType, id), claims, lease);
  }

  recordOutboxFailure(
    sagaType: string,
    id: string,
    entryId: string,
    token: string,
    failure: { readonly nextAttemptAt: Date; readonly error: string },
  ): Promise<boolean> {
    return recordFailure(this.collection, documentId(sagaType, id), entryId, token, failure);
  }

  private refreshMarker(doc: SagaDocument): Promise<void> {
    return refreshMarkers(this.collection, doc);
  }

  async findDueOutbox(now: Date, limit: number): Promise<SagaRecord[]> {
    const found: SagaRecord[] = [];
    const seen: string[] = [];
    for (let round = 0; round < PENDING_ROUNDS && found.length < limit; round++) {
      const wanted = limit - found.length;
      const docs = await this.collection
        .find({ outboxSince: { $lte: now }, ...(seen.length > 0 ? { _id: { $nin: seen } } : {}) })
        .sort({ outboxSince: 1 })
        .limit(wanted)
        .toArray();
      for (const doc of docs) {
        seen.push(doc._id);
        let record: SagaRecord;
        try {
          record = this.decode(doc);
        } catch (error) {
          if (!(error instanceof CorruptDocumentError)) throw error;
          this.connection.logger.warn('outbox sweep skipped a document that cannot be decoded', {
            collection: this.collectionName,
            id: doc._id,
            error: error.message,
          });
          continue;
        }
        const due = earliestDue(record.outbox);
        if (due && due.getTime() <= now.getTime()) found.push(record);
        else await this.refreshMarker(doc);
      }
      if (docs.length < wanted) break;
    }
    return found;
  }

  async oldestPendingOutbox(): Promise<Date | undefined> {
    const [doc] = await this.collection
      .find({ outboxOldest: { $exists: true } }, { projection: { outboxOldest: 1 } })
      .sort({ outboxOldest: 1 })
      .limit(1)
      .toArray();
    return doc?.outboxOldest instanceof Date ? doc.outboxOldest : undefined;
  }

  async list(
    sagaType: string,
    filter: InstanceFilter,
    page: { limit: number; after?: string },
  ): Promise<SagaRecord[]> {
    const query: Filter<SagaDocument> = { sagaType };
    if (page.after !== undefined) query.id = { $gt: page.after };
    for (const [name, value] of Object.entries(encodeLabels(filter.labels ?? {}))) {
      (query as Record<string, unknown>)[`labels.${name}`] = value;
    }
    const created: { $gt?: Date; $lt?: Date } = {};
    if (filter.createdAfter) created.$gt = filter.createdAfter;
    if (filter.createdBefore) created.$lt = filter.createdBefore;
    if (created.$gt || created.$lt) query.createdAt = created;
    if (filter.updatedBefore) query.updatedAt = { $lt: filter.updatedBefore };
    const docs = await this.collection.find(query).sort({ id: 1 }).limit(page.limit).toArray();
    return docs.map((doc) => this.decode(doc));
  }

  async delete(sagaType: string, id: string): Promise<boolean> {
    return (await this.collection.deleteOne({ _id: documentId(sagaType, id) })).deletedCount === 1;
  }

  /**
   * Finds the expired tombstones with a read, then deletes each by `_id` (still only if expired and
   * with an empty outbox). One `deleteMany` with the same filter would be a single command, but a
   * write that scans the collection: on FerretDB (which pushes down only `_id`) it held the test
   * store's write gate for seconds with 8,000 instances stored, stalling every commit.
   */
  async deleteExpiredTombstones(now: Date): Promise<number> {
    const expired = { status: 'completed', retainUntil: { $lte: now }, outbox: {} } as const;
    const ids = (
      await this.collection
        .find(expired, { projection: { _id: 1 } })
        .limit(TOMBSTONES_PER_SWEEP)
        .toArray()
    ).map((doc) => doc._id);
    const results = await mapInChunks(ids, DELETE_PARALLELISM, (_id) =>
      this.collection.deleteOne({ _id, ...expired }),
    );
    return results.reduce((sum, r) => sum + r.deletedCount, 0);
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  private decode(doc: SagaDocument): SagaRecord {
    return decodeSaga(this.collectionName, doc as unknown as Record<string, unknown>);
  }
}

/**
 * Turns a commit's full `state` (`set.state`) into per-field `$set`s and `$unset`s plus a `$push`
 * of the append-only array's new items; returns the `$push`, or undefined (then `set.state` stays
 * and the state is written whole) when the state has no such array.
 */
function appendState(
  state: unknown,
  append: StateAppend,
  set: Record<string, unknown>,
  unset: Record<string, ''>,
): Record<string, { $each: unknown[] }> | undefined {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return undefined;
  const { [append.field]: items, ...rest } = state as Record<string, unknown>;
  if (!Array.isArray(items) || items.length < append.from) return undefined;
  delete set.state;
  for (const [key, value] of Object.entries(encodeState(rest) as Record<string, unknown>))
    set[`state.${key}`] = value;
  for (const [key, value] of Object.entries(rest))
    if (value === undefined) unset[`state.${encodeKey(key)}`] = '';
  for (const key of append.removed) unset[`state.${encodeKey(key)}`] = '';
  const added = items.slice(append.from);
  if (added.length === 0) return {};
  return { [`state.${encodeKey(append.field)}`]: { $each: encodeState(added) as unknown[] } };
}

function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}
