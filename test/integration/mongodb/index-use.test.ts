/**
 * The lookups on the commit path are answered from an index by the store under test, not by
 * reading the whole collection: a find by `_id` (every saga load, every conditional commit and
 * outbox marking, every timeout lease and delete) and by correlation value.
 *
 * On MongoDB these are IDHACK/IXSCAN plans. On the FerretDB test store they are PostgreSQL plans,
 * and FerretDB's own btree indexes cannot answer the `@>` filter it pushes down; the test store
 * gives them GIN twins (tools/ferretdb/postgresql-indexes.sql). Without those, each of these
 * lookups was a sequential scan that grew with the documents stored (the 10,000-saga chaos run
 * slowed to a crawl), and this test fails on "Seq Scan".
 */
import { type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoSagaStore } from '../../../src/persistence/mongodb/index.js';
import { MongoTimeoutStore } from '../../../src/timeouts/mongodb/index.js';
import { claimQuery, type TimeoutDocument } from '../../../src/timeouts/mongodb/timeout-document.js';
import { databaseFor, storeOptions, suiteFixture } from './support.js';

/** Documents stored before explaining: enough that a scan costs the planner more than an index. */
const STORED = 2000;
/** Timeouts due but leased (being delivered) when the claim is explained, and waiting far away. */
const LEASED = 3000;
const FAR = 500;
/** Timeouts the claim can take. */
const CLAIMABLE = 20;

/** A raw document with a string `_id`, as the stores write them. */
type Raw = Document & { _id: string };

/** The node types of an explained plan: MongoDB's `stage`s, or PostgreSQL's `Node Type`s (FerretDB). */
function planNodes(explained: Document): string[] {
  const nodes: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === 'object' && value !== null) {
      for (const [key, inner] of Object.entries(value)) {
        if ((key === 'stage' || key === 'Node Type') && typeof inner === 'string') nodes.push(inner);
        else walk(inner);
      }
    }
  };
  walk(explained.queryPlanner ?? explained);
  return nodes;
}

const SCANS = /^(COLLSCAN|Seq Scan)$/;
const INDEX_READS = /IXSCAN|IDHACK|Index Scan|Index Only Scan/;

describe('index use on the store under test', () => {
  const fixture = suiteFixture();
  const database = databaseFor('index_use');
  const sagas = new MongoSagaStore(storeOptions(database));
  const timeouts = new MongoTimeoutStore(storeOptions(database));

  beforeAll(async () => {
    await sagas.init();
    await timeouts.init();
    const collection = fixture.raw.db(database).collection<Raw>(sagas.collectionName);
    const padding = 'x'.repeat(1024);
    for (let first = 0; first < STORED; first += 500) {
      await collection.insertMany(
        Array.from({ length: 500 }, (_, i) => ({
          _id: `Shop.Order/id-${first + i}`,
          sagaType: 'Shop.Order',
          id: `id-${first + i}`,
          correlationKey: `order-${first + i}`,
          version: 1,
          state: { padding: `${first + i}${padding}` },
        })),
      );
    }
    // Timeouts as the store writes them: thousands due but leased, some waiting months away, a few claimable.
    const now = Date.now();
    const stored = (i: number, state: string, dueAt: number, availableAt: number): Raw => ({
      _id: `t-${i}`,
      dueAt: new Date(dueAt),
      destination: 'orders',
      message: { messageId: `t-${i}`, headers: {}, body: '{}' },
      state,
      availableAt: new Date(availableAt),
      leaseOwner: state === 'leased' ? 'scheduler-1' : null,
      leaseUntil: state === 'leased' ? new Date(availableAt) : null,
      attempts: state === 'leased' ? 1 : 0,
    });
    const docs = [
      ...Array.from({ length: LEASED }, (_, i) => stored(i, 'leased', now - 60_000 + i, now + 30_000 + i)),
      ...Array.from({ length: FAR }, (_, i) =>
        stored(LEASED + i, 'waiting', now + 86_400_000 + i, now + 86_400_000 + i),
      ),
      ...Array.from({ length: CLAIMABLE }, (_, i) =>
        stored(LEASED + FAR + i, 'waiting', now - 1000 + i, now - 1000 + i),
      ),
    ];
    const timeoutCollection = fixture.raw.db(database).collection<Raw>(timeouts.collectionName);
    for (let i = 0; i < docs.length; i += 500) await timeoutCollection.insertMany(docs.slice(i, i + 500));
  });

  afterAll(async () => {
    await sagas.close();
    await timeouts.close();
    await fixture.raw.db(database).dropDatabase();
  });

  const lookups: [string, string, Document][] = [
    ['a saga instance by _id', sagas.collectionName, { _id: 'Shop.Order/id-1234' }],
    [
      'a conditional commit by _id and version',
      sagas.collectionName,
      { _id: 'Shop.Order/id-1234', version: 1 },
    ],
    [
      'a saga instance by correlation value',
      sagas.collectionName,
      { sagaType: 'Shop.Order', correlationKey: 'order-1234' },
    ],
    ['a timeout by _id', timeouts.collectionName, { _id: 't-123' }],
    [
      'a timeout lease or delete by _id and owner',
      timeouts.collectionName,
      { _id: 't-123', state: 'leased', leaseOwner: 'scheduler-1' },
    ],
  ];

  it.each(lookups)('%s is an index read, not a collection scan', async (_what, collection, filter) => {
    const explained = await fixture.raw.db(database).collection(collection).find(filter).explain();
    const nodes = planNodes(explained);
    expect(
      nodes.filter((node) => SCANS.test(node)),
      JSON.stringify(explained.queryPlanner),
    ).toEqual([]);
    expect(
      nodes.some((node) => INDEX_READS.test(node)),
      nodes.join(', '),
    ).toBe(true);
  });

  it(`the timeout claim is an index read with ${LEASED} due-but-leased timeouts stored`, async () => {
    const { filter, sort } = claimQuery('waiting', new Date());
    const collection = fixture.raw.db(database).collection<TimeoutDocument>(timeouts.collectionName);
    const explained = await collection.find(filter).sort(sort).limit(100).explain('executionStats');
    const nodes = planNodes(explained);
    expect(
      nodes.filter((node) => SCANS.test(node)),
      JSON.stringify(explained.queryPlanner),
    ).toEqual([]);
    expect(
      nodes.some((node) => INDEX_READS.test(node) || /Bitmap Index Scan/.test(node)),
      nodes.join(', '),
    ).toBe(true);
    const stats = explained.executionStats as
      { totalKeysExamined?: number; totalDocsExamined?: number } | undefined;
    if (stats?.totalKeysExamined !== undefined) {
      // MongoDB: the index range holds only the claimable timeouts, whatever else is stored.
      expect(stats.totalKeysExamined).toBeLessThanOrEqual(CLAIMABLE + 1);
      expect(stats.totalDocsExamined).toBeLessThanOrEqual(CLAIMABLE);
    } else {
      // FerretDB pushes down the equality on state only (no ranges): the leased ones are not read.
      expect(JSON.stringify(explained.queryPlanner)).toMatch(/state/);
    }
    expect((await collection.find(filter).sort(sort).limit(100).toArray()).map((d) => d._id)).toHaveLength(
      CLAIMABLE,
    );
  });
});
