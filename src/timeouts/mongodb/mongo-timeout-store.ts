/**
 * # The MongoDB timeout store
 *
 * Implements the {@link TimeoutStore} contract (`timeout-store.ts`) on one collection
 * (`<prefix>timeouts`), one document per timeout with `_id` = the timeout id, so scheduling twice
 * is a duplicate-key insert that changes nothing. Dates are BSON dates: a timeout months or years
 * away is stored like any other.
 *
 * **Claiming.** {@link MongoTimeoutStore.claimDue} reads the earliest due, unleased candidates
 * (`dueAt <= now` and `leaseUntil` null or past, sorted by `dueAt` then `_id`, one index on
 * both), then leases each with a conditional `updateOne({ _id, <still due and unleased> },
 * { $set: lease })`: a match means this caller holds it, no match means another scheduler got
 * there first. Each lease is one atomic single-document write, so two schedulers never hold one
 * timeout. Losses to a concurrent claimer are topped up from the next candidates (a few rounds).
 *
 * Why not one `findOneAndUpdate(…, { sort: { dueAt: 1 } })` per timeout: FerretDB v1 sorts by
 * reading the whole collection, so every claimed timeout would cost a full sorted scan (measured:
 * 270 ms each with 2,000 stored). One sorted read per batch plus one `_id` update per timeout
 * costs about the same as the per-timeout form on MongoDB and a batch's worth less on FerretDB.
 *
 * {@link MongoTimeoutStore.complete} deletes only while `leaseOwner` is still the caller.
 *
 * Non-goals: ordering among timeouts due at the same instant; TTL-based expiry.
 */
import { type Collection } from 'mongodb';
import {
  decodeMessage,
  encodeMessage,
  type MessageDocument,
} from '../../persistence/mongodb/saga-document.js';
import {
  mapInChunks,
  MongoConnection,
  type MongoStoreOptions,
} from '../../persistence/mongodb/connection.js';
import { CorruptDocumentError } from '../../persistence/mongodb/errors.js';
import { DecodeProblem, describe } from '../../persistence/mongodb/value-codec.js';
import { type ClaimedTimeout, type TimeoutRecord, type TimeoutStore } from '../timeout-store.js';

/** Options of {@link MongoTimeoutStore}. */
export interface MongoTimeoutStoreOptions extends MongoStoreOptions {
  /** The collection of pending timeouts. @defaultValue `${collectionPrefix}timeouts` */
  collection?: string;
}

/** One pending timeout as stored. */
interface TimeoutDocument {
  _id: string;
  dueAt: Date;
  destination: string;
  message: MessageDocument;
  sagaType?: string;
  sagaId?: string;
  /** The scheduler holding the lease, or null. */
  leaseOwner: string | null;
  /** Until when the lease holds, or null (never leased). */
  leaseUntil: Date | null;
}

/** Claim rounds per {@link MongoTimeoutStore.claimDue} call when concurrent claimers took candidates. */
const CLAIM_ROUNDS = 3;
/** Lease updates in flight at once. */
const CLAIM_PARALLELISM = 8;

/**
 * The timeout store on MongoDB (or FerretDB): due timeouts are leased one conditional update at a
 * time, so several schedulers can share one collection. See the file header.
 * @example
 * ```ts
 * const client = new MongoClient('mongodb://localhost:27017/');
 * const endpoint = new Endpoint({
 *   name: 'shop',
 *   sagas: [OrderFulfilment],
 *   sagaStore: new MongoSagaStore({ client, database: 'shop' }),
 *   timeoutStore: new MongoTimeoutStore({ client, database: 'shop' }),
 * });
 * ```
 */
export class MongoTimeoutStore implements TimeoutStore {
  /** Shows where the store is, never the credentials its client holds. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `MongoTimeoutStore(${this.connection.describe()})`;
  }

  toJSON(): string {
    return `MongoTimeoutStore(${this.connection.describe()})`;
  }

  private readonly connection: MongoConnection;
  private readonly collection: Collection<TimeoutDocument>;

  /** Validates the options (throws `ConfigurationError` naming the field); connects in `init()`. */
  constructor(options: MongoTimeoutStoreOptions) {
    this.connection = new MongoConnection(options, 'timeouts');
    this.collection = this.connection.collection<TimeoutDocument>();
  }

  /** The collection name in use. */
  get collectionName(): string {
    return this.connection.collectionName;
  }

  /** Connects (throws `MongoStoreUnavailableError` naming the host) and creates the indexes. */
  async init(): Promise<void> {
    await this.connection.ensureIndexes([
      { key: { dueAt: 1, _id: 1 }, name: 'longhaul_due' },
      { key: { sagaType: 1, sagaId: 1 }, name: 'longhaul_saga' },
    ]);
  }

  async schedule(timeout: TimeoutRecord): Promise<void> {
    const doc: TimeoutDocument = {
      _id: timeout.id,
      dueAt: timeout.dueAt,
      destination: timeout.destination,
      message: encodeMessage(timeout.message),
      leaseOwner: null,
      leaseUntil: null,
    };
    if (timeout.sagaType !== undefined) doc.sagaType = timeout.sagaType;
    if (timeout.sagaId !== undefined) doc.sagaId = timeout.sagaId;
    try {
      await this.collection.insertOne(doc);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 11000) throw error;
    }
  }

  async cancel(id: string): Promise<boolean> {
    return (await this.collection.deleteOne({ _id: id })).deletedCount === 1;
  }

  async claimDue(now: Date, limit: number, owner: string, leaseMs: number): Promise<ClaimedTimeout[]> {
    const leaseUntil = new Date(now.getTime() + leaseMs);
    const claimable = {
      dueAt: { $lte: now },
      $or: [{ leaseUntil: null }, { leaseUntil: { $lte: now } }],
    };
    const claimed: { doc: TimeoutDocument; record: TimeoutRecord }[] = [];
    const tried: string[] = [];
    for (let round = 0; round < CLAIM_ROUNDS && claimed.length < limit; round++) {
      const wanted = limit - claimed.length;
      const candidates = await this.collection
        .find(tried.length > 0 ? { ...claimable, _id: { $nin: tried } } : claimable)
        .sort({ dueAt: 1, _id: 1 })
        .limit(wanted)
        .toArray();
      const decodable: { doc: TimeoutDocument; record: TimeoutRecord }[] = [];
      for (const doc of candidates) {
        tried.push(doc._id);
        const record = this.decodeOrReport(doc);
        if (record) decodable.push({ doc, record });
      }
      let lost = 0;
      const results = await mapInChunks(decodable, CLAIM_PARALLELISM, ({ doc }) =>
        this.collection.updateOne(
          { _id: doc._id, ...claimable },
          { $set: { leaseOwner: owner, leaseUntil } },
        ),
      );
      decodable.forEach((candidate, j) => {
        if (results[j]?.matchedCount === 1) claimed.push(candidate);
        else lost++;
      });
      if (candidates.length < wanted || lost === 0) break;
    }
    return claimed
      .sort((a, b) => a.doc.dueAt.getTime() - b.doc.dueAt.getTime())
      .map(({ record }) => ({ ...record, leaseOwner: owner, leaseUntil }));
  }

  async complete(id: string, owner: string): Promise<boolean> {
    return (await this.collection.deleteOne({ _id: id, leaseOwner: owner })).deletedCount === 1;
  }

  async nextDueAt(): Promise<Date | undefined> {
    const next = await this.collection.findOne({}, { sort: { dueAt: 1 }, projection: { dueAt: 1 } });
    return next?.dueAt instanceof Date ? next.dueAt : undefined;
  }

  async listBySaga(sagaType: string, sagaId: string): Promise<TimeoutRecord[]> {
    const docs = await this.collection.find({ sagaType, sagaId }).toArray();
    return docs
      .map((doc) => this.decode(doc))
      .sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || (a.id < b.id ? -1 : 1));
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  /** A claim candidate that cannot be decoded stays stored (for an operator) and is reported, not delivered. */
  private decodeOrReport(doc: TimeoutDocument): TimeoutRecord | undefined {
    try {
      return this.decode(doc);
    } catch (error) {
      if (!(error instanceof CorruptDocumentError)) throw error;
      this.connection.logger.warn('timeout skipped: its document cannot be decoded', {
        collection: this.collectionName,
        id: doc._id,
        error: error.message,
      });
      return undefined;
    }
  }

  private decode(doc: TimeoutDocument): TimeoutRecord {
    try {
      const raw = doc as unknown as Record<string, unknown>;
      if (typeof raw._id !== 'string')
        throw new DecodeProblem(`_id is ${describe(raw._id)}, expected a string`);
      if (!(raw.dueAt instanceof Date))
        throw new DecodeProblem(`dueAt is ${describe(raw.dueAt)}, expected a date`);
      if (typeof raw.destination !== 'string') {
        throw new DecodeProblem(`destination is ${describe(raw.destination)}, expected a string`);
      }
      const record: { -readonly [K in keyof TimeoutRecord]: TimeoutRecord[K] } = {
        id: raw._id,
        dueAt: raw.dueAt,
        destination: raw.destination,
        message: decodeMessage(raw.message, 'message'),
      };
      if (typeof raw.sagaType === 'string') record.sagaType = raw.sagaType;
      if (typeof raw.sagaId === 'string') record.sagaId = raw.sagaId;
      return record;
    } catch (error) {
      if (error instanceof DecodeProblem) {
        throw new CorruptDocumentError(this.collectionName, String(doc._id), error.message);
      }
      throw error;
    }
  }
}
