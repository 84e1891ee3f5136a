/**
 * The {@link PartitionLeases} on MongoDB (and FerretDB): one collection, by default
 * `<sagas collection>_partitions`, with one document per partition of a partitioned endpoint
 * (`_id` `<endpoint>/p/<i>`: holder and lease end) and one per member (`_id` `<endpoint>/m/<member>`:
 * heartbeat end). A claim is one conditional `updateOne` on `{ _id, expiresAt < now or member = me }`
 * with upsert: a partition held by another member makes the upsert hit the `_id` and fail, so two
 * members never both succeed. Times come from the database server's clock (`hello`), not the workers'.
 */
import { type Collection, MongoServerError } from 'mongodb';
import { ServerClock } from '../../timeouts/mongodb/server-clock.js';
import { type PartitionHolder, type PartitionLeases } from '../partition-leases.js';
import { MongoConnection, type MongoStoreOptions } from './connection.js';
import { type MongoSagaStore } from './mongo-saga-store.js';

interface LeaseDocument {
  _id: string;
  endpoint: string;
  kind: 'partition' | 'member';
  member: string;
  partition?: number;
  expiresAt: Date;
}

/** Options of {@link MongoPartitionLeases}. */
export interface MongoPartitionLeasesOptions extends MongoStoreOptions {
  /** The collection. @defaultValue `${collectionPrefix}sagas_partitions` */
  collection?: string;
}

const DUPLICATE_KEY = 11000;

/** Partition leases in a MongoDB collection; see the file header. */
export class MongoPartitionLeases implements PartitionLeases {
  private readonly connection: MongoConnection;
  private readonly collection: Collection<LeaseDocument>;
  private readonly clock: ServerClock;

  /** Validates the options (a `ConfigurationError` names the field); connects in `init()`. */
  constructor(options: MongoPartitionLeasesOptions) {
    this.connection = new MongoConnection(options, 'sagas_partitions');
    this.collection = this.connection.collection<LeaseDocument>();
    this.clock = new ServerClock(async () => {
      const hello = await this.connection.db.command({ hello: 1 });
      return hello.localTime as Date;
    });
  }

  /**
   * The leases next to a saga store's instances: its client and database, collection
   * `<its collection>_partitions` (what an endpoint on a `MongoSagaStore` uses by default).
   */
  static forStore(store: MongoSagaStore): MongoPartitionLeases {
    return new MongoPartitionLeases(store.besideThis('_partitions'));
  }

  /** The collection name in use. */
  get collectionName(): string {
    return this.connection.collectionName;
  }

  async init(): Promise<void> {
    await this.connection.ensureIndexes([{ key: { endpoint: 1, kind: 1 }, name: 'longhaul_partitions' }]);
  }

  async heartbeat(endpoint: string, member: string, ttlMs: number): Promise<string[]> {
    const now = await this.clock.now();
    await this.collection.updateOne(
      { _id: `${endpoint}/m/${member}` },
      { $set: { endpoint, kind: 'member', member, expiresAt: new Date(now.getTime() + ttlMs) } },
      { upsert: true },
    );
    const members = await this.collection
      .find({ endpoint, kind: 'member' }, { projection: { member: 1, expiresAt: 1 } })
      .toArray();
    // Members gone for ten lease periods (killed, never left) are deleted, so restarts leave no trail.
    const gone = members.filter((doc) => doc.expiresAt.getTime() < now.getTime() - 10 * ttlMs);
    if (gone.length > 0) await this.collection.deleteMany({ _id: { $in: gone.map((doc) => doc._id) } });
    return members
      .filter((doc) => doc.expiresAt > now)
      .map((doc) => doc.member)
      .sort();
  }

  async claim(endpoint: string, partition: number, member: string, ttlMs: number): Promise<boolean> {
    const now = await this.clock.now();
    try {
      await this.collection.updateOne(
        { _id: `${endpoint}/p/${partition}`, $or: [{ expiresAt: { $lt: now } }, { member }] },
        {
          $set: {
            endpoint,
            kind: 'partition',
            partition,
            member,
            expiresAt: new Date(now.getTime() + ttlMs),
          },
        },
        { upsert: true },
      );
      return true;
    } catch (error) {
      if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) return false;
      throw error;
    }
  }

  async release(endpoint: string, partition: number, member: string): Promise<void> {
    await this.collection.deleteOne({ _id: `${endpoint}/p/${partition}`, member });
  }

  async leave(endpoint: string, member: string): Promise<void> {
    await this.collection.deleteOne({ _id: `${endpoint}/m/${member}` });
  }

  async holders(endpoint: string): Promise<PartitionHolder[]> {
    const now = await this.clock.now();
    const docs = await this.collection
      .find({ endpoint, kind: 'partition', expiresAt: { $gt: now } })
      .sort({ partition: 1 })
      .toArray();
    return docs.map((doc) => ({
      partition: doc.partition ?? -1,
      member: doc.member,
      expiresAt: doc.expiresAt,
    }));
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
