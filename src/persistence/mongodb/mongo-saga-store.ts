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
 * **Commit** (`saga-commit.ts`). Version 0 inserts; a duplicate key (code 11000, on `_id` or on
 * the correlation index) is a `ConcurrencyError`. Later versions `updateOne({ _id, version:
 * expected }, …)`; no match is a `ConcurrencyError`. The update `$set`s the state, inbox, timeouts
 * and version and adds each new outbox entry under its own key (`$set: { 'outbox.<id>': entry }`),
 * never rewriting `outbox` as a whole.
 *
 * **Append-only arrays** (a workflow's history, `SagaCommit.appendOnly`) are kept in chunks of 100
 * items: the sealed ones in documents of `<collection>_chunks` (`history-chunks.ts`), inserted
 * before the conditional write, only the open one inline (`chunked-state.ts`). A commit with
 * `append` sends only the new items (and, when one fills, the sealed chunk), so neither what it
 * sends nor what FerretDB rewrites (the whole document, one jsonb row) grows with the history.
 * Every read returns the whole array (`chunked-reads.ts`): the sealed items from the chunks the
 * instance names, or from the caller's `known` items when they are at the version stored, which
 * makes a load read the instance document alone.
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
import { type Collection, type Filter } from 'mongodb';
import { ConfigurationError } from '../../errors.js';
import { sagaInstanceId } from '../../util/ids.js';
import {
  type FindOptions,
  type InstanceFilter,
  type KnownItems,
  type OutboxClaim,
  type SagaCommit,
  type SagaRecord,
  type SagaStore,
} from '../saga-store.js';
import { mapInChunks, MongoConnection, type MongoStoreOptions } from './connection.js';
import { CorruptDocumentError } from './errors.js';
import { joinChunks } from './chunked-reads.js';
import { type ChunkDocument, HistoryChunks } from './history-chunks.js';
import { commitSaga } from './saga-commit.js';
import { MongoDeadLetterStore } from './mongo-dead-letters.js';
import { MongoInstanceAdmin } from './mongo-instance-admin.js';
import { claimEntries, recordFailure, refreshMarkers } from './mongo-outbox.js';
import {
  decodeSaga,
  documentId,
  earliestDue,
  encodeLabels,
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
  /** The collection of sealed history chunks (`history-chunks.ts`). @defaultValue `${collection}_chunks` */
  chunkCollection?: string;
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
  /** The sealed chunks of workflow histories, in their own collection. */
  private readonly chunks: HistoryChunks;
  /** Search, counts and the action log (`operations/`). */
  readonly admin: MongoInstanceAdmin;

  /** Validates the options (throws `ConfigurationError` naming the field); connects in `init()`. */
  constructor(options: MongoSagaStoreOptions) {
    this.connection = new MongoConnection(options, 'sagas');
    this.collection = this.connection.collection<SagaDocument>();
    const named = (field: keyof typeof options, suffix: string): string =>
      sideCollection(field, options[field] ?? `${this.collectionName}${suffix}`);
    this.deadLetters = new MongoDeadLetterStore(
      this.connection.collection(named('deadLetterCollection', '_dead_letters')),
    );
    this.chunks = new HistoryChunks(
      this.connection.collection<ChunkDocument>(named('chunkCollection', '_chunks')),
      this.connection.logger,
    );
    this.admin = new MongoInstanceAdmin(
      this.collection,
      this.connection.collection(named('actionCollection', '_actions')),
      (doc) => this.decode(doc),
      (doc) => this.read(doc),
    );
  }

  /** The collection name in use. */
  get collectionName(): string {
    return this.connection.collectionName;
  }

  /**
   * Options for another store beside this one (its client, database and logger, a collection
   * `<this collection><suffix>`): the client stays this store's, closed by it.
   * @internal
   */
  besideThis(suffix: string): MongoStoreOptions & { collection: string } {
    return {
      client: this.connection.client,
      database: this.connection.db.databaseName,
      collection: `${this.collectionName}${suffix}`,
      logger: this.connection.logger,
    };
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
    hint?: { readonly id?: string } & FindOptions,
  ): Promise<SagaRecord | undefined> {
    const derived = await this.collection.findOne({
      _id: documentId(sagaType, hint?.id ?? sagaInstanceId(sagaType, correlationKey)),
    });
    if (derived?.sagaType === sagaType && derived.correlationKey === correlationKey)
      return this.read(derived, hint?.known);
    if (hint?.id !== undefined) return undefined;
    const doc = await this.collection.findOne({ sagaType, correlationKey });
    return doc ? this.read(doc, hint?.known) : undefined;
  }

  async findById(sagaType: string, id: string, options?: FindOptions): Promise<SagaRecord | undefined> {
    const doc = await this.collection.findOne({ _id: documentId(sagaType, id) });
    return doc ? this.read(doc, options?.known) : undefined;
  }

  commit(commit: SagaCommit): Promise<void> {
    return commitSaga(this.collection, this.chunks, commit);
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
          record = await this.read(doc);
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
    return Promise.all(docs.map((doc) => this.read(doc)));
  }

  /** Deletes the instance, then the chunks it named (see `history-chunks.ts`). */
  async delete(sagaType: string, id: string): Promise<boolean> {
    const _id = documentId(sagaType, id);
    const doc = await this.collection.findOne({ _id }, { projection: { chunks: 1 } });
    const deleted = (await this.collection.deleteOne({ _id })).deletedCount === 1;
    if (deleted && Array.isArray(doc?.chunks)) await this.chunks.discard(_id, doc.chunks);
    return deleted;
  }

  /**
   * Finds the expired tombstones with a read, then deletes each by `_id` (still only if expired and
   * with an empty outbox). One `deleteMany` with the same filter would be a single command, but a
   * write that scans the collection: on FerretDB (which pushes down only `_id`) it held the test
   * store's write gate for seconds with 8,000 instances stored, stalling every commit.
   */
  async deleteExpiredTombstones(now: Date): Promise<number> {
    const expired = { status: 'completed', retainUntil: { $lte: now }, outbox: {} } as const;
    const docs = await this.collection
      .find(expired, { projection: { _id: 1, chunks: 1 } })
      .limit(TOMBSTONES_PER_SWEEP)
      .toArray();
    const results = await mapInChunks(docs, DELETE_PARALLELISM, async ({ _id, chunks }) => {
      const { deletedCount } = await this.collection.deleteOne({ _id, ...expired });
      if (deletedCount === 1 && Array.isArray(chunks)) await this.chunks.discard(_id, chunks);
      return deletedCount;
    });
    return results.reduce((sum, n) => sum + n, 0);
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  /** The record of `doc` without its sealed items: for reads that use no state (counts). */
  private decode(doc: SagaDocument): SagaRecord {
    return decodeSaga(this.collectionName, doc as unknown as Record<string, unknown>);
  }

  /** The whole record of `doc`: the sealed items joined (from `known` when it is at the version). */
  private read(doc: SagaDocument, known?: KnownItems): Promise<SagaRecord> {
    return joinChunks(this.collectionName, doc, this.decode(doc), this.chunks, known);
  }
}

/** Checks the name of a side collection (`deadLetterCollection`…); throws naming the option. */
function sideCollection(field: string, name: unknown): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,120}$/.test(name)) {
    throw new ConfigurationError(
      field,
      `expected 1–120 letters, digits, '_', '.' or '-', got ${JSON.stringify(name)}`,
    );
  }
  return name;
}
