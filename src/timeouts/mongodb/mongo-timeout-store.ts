/**
 * # The MongoDB timeout store
 *
 * Implements the {@link TimeoutStore} contract (`timeout-store.ts`) on one collection
 * (`<prefix>timeouts`), one document per timeout with `_id` = the timeout id, so scheduling twice
 * is a duplicate-key insert that changes nothing. Dates are BSON dates: a timeout months or years
 * away is stored like any other. The stored shape, and the upgrade of documents an earlier version
 * wrote, are in `timeout-document.ts`.
 *
 * **Clock.** Due checks and leases use the database server's time (`server-clock.ts`), never the
 * worker's.
 *
 * **Claiming.** {@link MongoTimeoutStore.claimDue} costs a few round trips per batch, whatever its
 * size: one read of the earliest claimable candidates' ids (`state: 'waiting', availableAt <= now`,
 * sorted by `availableAt` then `_id`: one range of the index `longhaul_claim`), one
 * `updateMany({ _id: { $in: ids }, state, availableAt: { $lte: now } }, { $set: lease, $inc: { attempts: 1 } })`
 * that leases those still claimable and stamps them with a fresh claim id, and one read of the
 * documents bearing that claim id: exactly what this call leased. The update is atomic per
 * document, so two claimers never both lease one timeout: a lease moves `availableAt` past `now`,
 * so the second update no longer matches it. Losses to a concurrent claimer are topped up from the
 * next candidates (a few rounds). Expired leases (a scheduler died) are looked for with the same
 * query on `state: 'leased'`, at most every {@link recoveryEveryMs} per store (they are rare, and
 * on FerretDB that look reads every leased document); documents of the earlier shape are upgraded
 * in `init()` and, for those a not-yet-upgraded process writes during a rolling deploy, every
 * minute during claims. {@link MongoTimeoutStore.renew} and {@link MongoTimeoutStore.completeMany}
 * likewise take one `updateMany` (and one read) or one `deleteMany` for a whole batch.
 *
 * Why one sorted read per batch rather than one `findOneAndUpdate(…, { sort })` per timeout:
 * FerretDB v1 sorts by reading the candidates into memory, so each claimed timeout would cost a
 * sorted read (measured: 270 ms each with 2,000 stored). Why not one conditional `updateOne` per
 * candidate (as before): a round trip per timeout, 36 timeouts/s on FerretDB (bench row T).
 *
 * A candidate that cannot be decoded is dead-lettered with the reason (visible, never delivered).
 *
 * Non-goals: ordering among timeouts due at the same instant; TTL-based expiry.
 */
import { type Collection } from 'mongodb';
import { encodeMessage } from '../../persistence/mongodb/saga-document.js';
import { MongoConnection, type MongoStoreOptions } from '../../persistence/mongodb/connection.js';
import { CorruptDocumentError } from '../../persistence/mongodb/errors.js';
import { ConfigurationError } from '../../errors.js';
import {
  type ClaimedTimeout,
  type TimeoutClaim,
  type TimeoutDeadLetters,
  type TimeoutFailure,
  type TimeoutRecord,
  type TimeoutStore,
} from '../timeout-store.js';
import { type Clock, VirtualClock } from '../../util/clock.js';
import { newId } from '../../util/ids.js';
import { ServerClock } from './server-clock.js';
import { mongoDeadLetters } from './dead-letters.js';
import { claimQuery, decodeTimeout, type TimeoutDocument, upgradeLegacy } from './timeout-document.js';

/** Options of {@link MongoTimeoutStore}. */
export interface MongoTimeoutStoreOptions extends MongoStoreOptions {
  /** The collection of pending timeouts. @defaultValue `${collectionPrefix}timeouts` */
  collection?: string;
  /**
   * The clock due checks and leases use. Leave it unset in production: every worker then agrees on
   * the database server's time. Set it (or run the endpoint on a `VirtualClock`, which the store
   * then adopts) only to move time by hand in tests and demos.
   * @defaultValue the database server's clock (`hello`'s `localTime`)
   */
  clock?: Clock;
}

/** Claim rounds per {@link MongoTimeoutStore.claimDue} call when concurrent claimers took candidates. */
const CLAIM_ROUNDS = 3;
/** How often a claim also upgrades documents of the earlier shape (store time). */
const LEGACY_EVERY_MS = 60_000;

/** How often (store time) a store looks for expired leases: a fourth of the lease, at most 5 s. */
export function recoveryEveryMs(leaseMs: number): number {
  return Math.min(5000, leaseMs / 4);
}

/**
 * The timeout store on MongoDB (or FerretDB): due timeouts are leased a batch at a time by
 * conditional updates, so several schedulers can share one collection. See the file header.
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
  private clock: { now(): Promise<Date> };
  private clockGiven: boolean;
  private lastRecovery = -Infinity;
  private lastLegacy = -Infinity;

  /** Validates the options (throws `ConfigurationError` naming the field); connects in `init()`. */
  constructor(options: MongoTimeoutStoreOptions) {
    this.connection = new MongoConnection(options, 'timeouts');
    this.collection = this.connection.collection<TimeoutDocument>();
    this.deadLetters = mongoDeadLetters(this.collection, this.collectionName, () => this.clock.now());
    const given = options.clock;
    if (given !== undefined && typeof given?.now !== 'function') {
      throw new ConfigurationError(
        'clock',
        'expected a Clock (now, sleep), or leave it unset for the server’s clock',
      );
    }
    this.clockGiven = given !== undefined;
    this.clock = given
      ? { now: async () => given.now() }
      : new ServerClock(async () => {
          const hello = await this.connection.db.command({ hello: 1 });
          return hello.localTime as Date;
        });
  }

  /**
   * A scheduler on a {@link VirtualClock} (tests, demos) makes it the store's clock, unless one was
   * given: the server's time does not move with a virtual clock. @internal (the scheduler calls it)
   */
  adoptClock(clock: Clock): void {
    if (this.clockGiven || !(clock instanceof VirtualClock)) return;
    this.clockGiven = true;
    this.clock = { now: async () => clock.now() };
  }

  /** The collection name in use. */
  get collectionName(): string {
    return this.connection.collectionName;
  }

  /** Connects (throws `MongoStoreUnavailableError` naming the host), creates the indexes, upgrades earlier documents. */
  async init(): Promise<void> {
    await this.connection.ensureIndexes([
      { key: { state: 1, availableAt: 1, _id: 1 }, name: 'longhaul_claim' },
      { key: { sagaType: 1, sagaId: 1 }, name: 'longhaul_saga' },
      { key: { state: 1, deadLetteredAt: 1 }, name: 'longhaul_dead' },
    ]);
    while ((await upgradeLegacy(this.collection, 500)) === 500);
    this.lastLegacy = (await this.clock.now()).getTime();
  }

  async schedule(timeout: TimeoutRecord): Promise<void> {
    const doc: TimeoutDocument = {
      _id: timeout.id,
      dueAt: timeout.dueAt,
      destination: timeout.destination,
      message: encodeMessage(timeout.message),
      state: 'waiting',
      availableAt: timeout.dueAt,
      leaseOwner: null,
      leaseUntil: null,
      attempts: 0,
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

  async claimDue(limit: number, owner: string, leaseMs: number): Promise<TimeoutClaim> {
    const now = await this.clock.now();
    const at = now.getTime();
    if (at - this.lastLegacy >= LEGACY_EVERY_MS) {
      this.lastLegacy = at;
      await upgradeLegacy(this.collection, limit);
    }
    const lease = { owner, leaseUntil: new Date(at + leaseMs), claim: newId() };
    let taken = await this.claimFrom('waiting', now, limit, lease);
    if (taken < limit && at - this.lastRecovery >= recoveryEveryMs(leaseMs)) {
      this.lastRecovery = at;
      taken += await this.claimFrom('leased', now, limit - taken, lease);
    }
    if (taken === 0) return { timeouts: [], now };
    // One reply, not a first batch of 101 and a getMore: the batch size is one past what was leased.
    const docs = await this.collection
      .find({ claim: lease.claim, state: 'leased', leaseOwner: owner })
      .batchSize(taken + 1)
      .toArray();
    const claimed: ClaimedTimeout[] = [];
    for (const doc of docs) {
      const result = await this.claimedOrDeadLettered(doc, owner, lease.leaseUntil);
      if (result !== 'dead') claimed.push(result);
    }
    claimed.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || (a.id < b.id ? -1 : 1));
    return { timeouts: claimed, now };
  }

  async renew(ids: readonly string[], owner: string, leaseMs: number): Promise<string[]> {
    if (ids.length === 0) return [];
    const until = new Date((await this.clock.now()).getTime() + leaseMs);
    const mine = { _id: { $in: [...ids] }, state: 'leased' as const, leaseOwner: owner };
    await this.collection.updateMany(mine, { $set: { availableAt: until, leaseUntil: until } });
    const held = await this.collection
      .find(mine, { projection: { _id: 1 } })
      .batchSize(ids.length + 1)
      .toArray();
    const heldIds = new Set(held.map((doc) => doc._id));
    return ids.filter((id) => heldIds.has(id));
  }

  async complete(id: string, owner: string): Promise<boolean> {
    const result = await this.collection.deleteOne({ _id: id, state: 'leased', leaseOwner: owner });
    return result.deletedCount === 1;
  }

  async completeMany(ids: readonly string[], owner: string): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await this.collection.deleteMany({
      _id: { $in: [...ids] },
      state: 'leased',
      leaseOwner: owner,
    });
    return result.deletedCount;
  }

  async fail(id: string, owner: string, failure: TimeoutFailure): Promise<boolean> {
    const now = await this.clock.now();
    const set: Partial<TimeoutDocument> =
      'deadLetter' in failure
        ? { state: 'dead', availableAt: null, deadLetteredAt: now }
        : { state: 'waiting', availableAt: new Date(now.getTime() + Math.max(0, failure.retryAfterMs)) };
    const result = await this.collection.updateOne(
      { _id: id, state: 'leased', leaseOwner: owner },
      { $set: { ...set, leaseOwner: null, leaseUntil: null, lastError: failure.reason } },
    );
    return result.matchedCount === 1;
  }

  async nextDueAt(): Promise<Date | undefined> {
    const next = await Promise.all(
      (['waiting', 'leased'] as const).map((state) =>
        this.collection.findOne({ state }, { sort: { availableAt: 1 }, projection: { availableAt: 1 } }),
      ),
    );
    const times = next.flatMap((doc) =>
      doc?.availableAt instanceof Date ? [doc.availableAt.getTime()] : [],
    );
    return times.length > 0 ? new Date(Math.min(...times)) : undefined;
  }

  async listBySaga(sagaType: string, sagaId: string): Promise<TimeoutRecord[]> {
    const docs = await this.collection.find({ sagaType, sagaId }).toArray();
    return docs
      .map((doc) => decodeTimeout(this.collectionName, doc))
      .sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || (a.id < b.id ? -1 : 1));
  }

  /** Dead-lettered timeouts: list, replay, delete (`dead-letters.ts`). */
  readonly deadLetters: TimeoutDeadLetters;

  async close(): Promise<void> {
    await this.connection.close();
  }

  /**
   * Leases up to `wanted` candidates in `state` claimable at `now` to `lease.owner`, stamping them
   * with `lease.claim`; resolves how many it leased (see the file header).
   */
  private async claimFrom(
    state: 'waiting' | 'leased',
    now: Date,
    wanted: number,
    lease: { owner: string; leaseUntil: Date; claim: string },
  ): Promise<number> {
    let taken = 0;
    const tried: string[] = [];
    for (let round = 0; round < CLAIM_ROUNDS && taken < wanted; round++) {
      const want = wanted - taken;
      const { filter, sort } = claimQuery(state, now);
      const candidates = await this.collection
        .find(tried.length > 0 ? { ...filter, _id: { $nin: tried } } : filter, { projection: { _id: 1 } })
        .sort(sort)
        .limit(want)
        .batchSize(want + 1)
        .toArray();
      if (candidates.length === 0) break;
      const ids = candidates.map((doc) => doc._id);
      tried.push(...ids);
      const { leaseUntil, owner: leaseOwner, claim } = lease;
      const result = await this.collection.updateMany(
        { ...filter, _id: { $in: ids } },
        {
          $set: { state: 'leased', leaseOwner, leaseUntil, availableAt: leaseUntil, claim },
          $inc: { attempts: 1 },
        },
      );
      taken += result.matchedCount;
      if (candidates.length < want || result.matchedCount === ids.length) break;
    }
    return taken;
  }

  /** A leased candidate as claimed, or dead-lettered with the reason if it cannot be decoded. */
  private async claimedOrDeadLettered(
    doc: TimeoutDocument,
    owner: string,
    leaseUntil: Date,
  ): Promise<ClaimedTimeout | 'dead'> {
    try {
      const record = decodeTimeout(this.collectionName, doc);
      const attempts = typeof doc.attempts === 'number' ? doc.attempts : 1; // counted by the claim
      const claimed = { ...record, leaseOwner: owner, leaseUntil, attempts };
      return doc.lastError === undefined ? claimed : { ...claimed, lastError: doc.lastError };
    } catch (error) {
      if (!(error instanceof CorruptDocumentError)) throw error;
      this.connection.logger.warn('timeout dead-lettered: its document cannot be decoded', {
        collection: this.collectionName,
        id: doc._id,
        error: error.message,
      });
      await this.fail(doc._id, owner, { reason: error.message, deadLetter: true });
      return 'dead';
    }
  }
}
