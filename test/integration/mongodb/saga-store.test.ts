/**
 * What the MongoDB saga store does beyond the conformance suite, against the gated test store:
 * values FerretDB cannot hold as they are, the readable stored layout, the outbox marker, labels,
 * list and delete, and configuration errors.
 */
import { MongoClient } from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  type Logger,
  type OutboxEntry,
  type SagaRecord,
  silentLogger,
} from '../../../src/index.js';
import {
  MongoSagaStore,
  MongoStoreUnavailableError,
  UnsupportedValueError,
} from '../../../src/persistence/mongodb/index.js';
import { MongoTimeoutStore } from '../../../src/timeouts/mongodb/index.js';
import { sagaInstanceId } from '../../../src/util/ids.js';
import { databaseFor, mongoUrl, rawClient, storeOptions } from './support.js';

const t0 = new Date('2026-04-01T12:00:00.000Z');

function record(
  key: string,
  version: number,
  state: unknown,
  extra: Partial<SagaRecord> = {},
): Omit<SagaRecord, 'outbox'> {
  return {
    sagaType: 'Shop.Order',
    id: `id-${key}`,
    correlationKey: key,
    version,
    status: 'active',
    state,
    inbox: [{ id: `m-${version}`, at: t0 }],
    timeouts: [],
    createdAt: t0,
    updatedAt: t0,
    ...extra,
  };
}

function entry(id: string, createdAt = t0): OutboxEntry {
  return {
    id,
    operation: 'publish',
    message: { messageId: id, headers: { 'longhaul.type': 'shop.Placed', $odd: 'x' }, body: '{"a":1}' },
    sourceMessageId: 'm-1',
    createdAt,
  };
}

describe('MongoDB saga store', () => {
  let raw: MongoClient;
  let database: string;
  let store: MongoSagaStore;
  const warnings: string[] = [];
  const logger: Logger = {
    ...silentLogger,
    warn: (message, fields) => warnings.push(`${message} ${JSON.stringify(fields)}`),
  };

  beforeAll(async () => {
    raw = await rawClient();
  });
  afterAll(async () => {
    await raw?.close();
  });

  async function open(): Promise<void> {
    database = databaseFor('store');
    store = new MongoSagaStore(storeOptions(database, { logger }));
    await store.init();
    await store.init(); // idempotent
  }
  afterEach(async () => {
    warnings.length = 0;
    await store?.close();
    if (database) await raw.db(database).dropDatabase();
  });
  const rawDoc = (key: string) =>
    raw.db(database).collection(store.collectionName).findOne({ correlationKey: key });

  it('round-trips state FerretDB cannot store as it is, and keeps ordinary state readable', async () => {
    await open();
    const state = {
      'a.b': 1,
      $dollar: 'yes',
      'x$y%z': 'mid',
      '': 'empty key',
      '%a': ['looks like a tag'],
      matrix: [
        [1, 2],
        [3, [4, [5]]],
      ],
      odd: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, undefined, null],
      when: new Date('2026-01-02T03:04:05.678Z'),
      plain: { list: ['x', { deep: true }], n: 2 ** 40 + 0.5 },
    };
    await store.commit({ expectedVersion: 0, newOutbox: [entry('e.1')], record: record('k1', 1, state) });
    const loaded = await store.findByCorrelation('Shop.Order', 'k1');
    expect(loaded?.state).toEqual(state);
    const odd = (loaded?.state as typeof state).odd;
    expect(Number.isNaN(odd[0])).toBe(true);
    expect(Object.is(odd[3], -0)).toBe(true);
    expect(4 in odd && odd[4] === undefined).toBe(true);
    expect(loaded?.outbox[0]?.message?.headers).toEqual({ 'longhaul.type': 'shop.Placed', $odd: 'x' });
    expect(loaded?.outbox[0]?.id).toBe('e.1');

    const doc = await rawDoc('k1');
    expect(doc?.state.plain).toEqual({ list: ['x', { deep: true }], n: 2 ** 40 + 0.5 });
    expect(doc?.state.when).toBeInstanceOf(Date);
    expect(doc?.state['a%2Eb']).toBe(1);
    expect(doc?.state.matrix).toEqual([{ '%a': [1, 2] }, { '%a': [3, { '%a': [4, { '%a': [5] }] }] }]);
    expect(doc?.createdAt).toBeInstanceOf(Date);
    expect(Object.keys(doc?.outbox ?? {})).toEqual(['e%2E1']);
  });

  it('stores a primitive state and refuses values it cannot keep, writing nothing', async () => {
    await open();
    await store.commit({ expectedVersion: 0, newOutbox: [], record: record('p', 1, 42) });
    expect((await store.findByCorrelation('Shop.Order', 'p'))?.state).toBe(42);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    for (const bad of [
      new Map([[1, 2]]),
      { big: 10n },
      { when: new Date(Number.NaN) },
      { f: () => 1 },
      cyclic,
    ]) {
      await expect(
        store.commit({ expectedVersion: 1, newOutbox: [], record: record('p', 2, bad) }),
      ).rejects.toBeInstanceOf(UnsupportedValueError);
    }
    await expect(
      store.commit({
        expectedVersion: 1,
        newOutbox: [],
        record: record('p', 2, { list: [1, { at: new Date(NaN) }] }),
      }),
    ).rejects.toThrow("Cannot store an invalid Date at 'state.list[1].at'");
    expect((await store.findByCorrelation('Shop.Order', 'p'))?.version).toBe(1);
  });

  it('keeps outboxSince only while entries are pending, and repairs a stale one when sweeping', async () => {
    await open();
    const old = new Date(t0.getTime() - 60_000);
    await store.commit({
      expectedVersion: 0,
      newOutbox: [entry('e1', old), entry('e2')],
      record: record('k1', 1, {}),
    });
    expect((await rawDoc('k1'))?.outboxSince).toEqual(old);
    await store.markDispatched('Shop.Order', 'id-k1', ['e1']);
    expect((await rawDoc('k1'))?.outboxSince).toEqual(t0);
    await store.commit({ expectedVersion: 1, newOutbox: [entry('e3', old)], record: record('k1', 2, {}) });
    expect((await rawDoc('k1'))?.outboxSince).toEqual(old);
    await store.markDispatched('Shop.Order', 'id-k1', ['e2', 'e3']);
    expect(await rawDoc('k1')).not.toHaveProperty('outboxSince');
    expect((await rawDoc('k1'))?.outbox).toEqual({});

    // A marker left behind (say, its refresh lost to a commit) is found, checked, and cleared.
    await raw
      .db(database)
      .collection(store.collectionName)
      .updateOne({ correlationKey: 'k1' }, { $set: { outboxSince: old } });
    expect(await store.findDueOutbox(t0, 10)).toEqual([]);
    expect(await rawDoc('k1')).not.toHaveProperty('outboxSince');
  });

  it('sweeping skips a pending document that cannot be decoded, reporting it, and returns the rest', async () => {
    await open();
    const old = new Date(t0.getTime() - 60_000);
    await store.commit({ expectedVersion: 0, newOutbox: [entry('e1', old)], record: record('bad', 1, {}) });
    await store.commit({ expectedVersion: 0, newOutbox: [entry('e2', old)], record: record('good', 1, {}) });
    await raw
      .db(database)
      .collection(store.collectionName)
      .updateOne({ correlationKey: 'bad' }, { $set: { status: 'paused' } });
    const found = await store.findDueOutbox(t0, 10);
    expect(found.map((r) => r.correlationKey)).toEqual(['good']);
    expect(warnings.join('\n')).toMatch(/cannot be decoded.*Shop\.Order\/id-bad.*status is \W*paused/);
  });

  it('lists instances by labels and creation time, ordered by id and paged, and deletes one', async () => {
    await open();
    const at = (minutes: number) => new Date(t0.getTime() + minutes * 60_000);
    const labelled = (key: string, status: string, minutes: number) =>
      record(
        key,
        1,
        { key },
        { createdAt: at(minutes), updatedAt: at(minutes), labels: { 'wf.type': 'Signup', status } },
      );
    await store.commit({ expectedVersion: 0, newOutbox: [], record: labelled('c', 'running', 3) });
    await store.commit({ expectedVersion: 0, newOutbox: [], record: labelled('a', 'running', 1) });
    await store.commit({ expectedVersion: 0, newOutbox: [], record: labelled('b', 'completed', 2) });
    await store.commit({ expectedVersion: 0, newOutbox: [], record: labelled('d', 'running', 4) });
    await store.commit({
      expectedVersion: 0,
      newOutbox: [],
      record: { ...record('z', 1, {}), sagaType: 'Other' },
    });

    const ids = async (
      filter: Parameters<MongoSagaStore['list']>[1],
      page = { limit: 10 } as { limit: number; after?: string },
    ) => (await store.list('Shop.Order', filter, page)).map((r) => r.id);
    expect(await ids({})).toEqual(['id-a', 'id-b', 'id-c', 'id-d']);
    expect(await ids({ labels: { status: 'running' } })).toEqual(['id-a', 'id-c', 'id-d']);
    expect(await ids({ labels: { status: 'running', 'wf.type': 'Signup' } }, { limit: 2 })).toEqual([
      'id-a',
      'id-c',
    ]);
    expect(await ids({ labels: { status: 'running' } }, { limit: 2, after: 'id-c' })).toEqual(['id-d']);
    expect(await ids({ createdAfter: at(1), createdBefore: at(4) })).toEqual(['id-b', 'id-c']);
    expect(await ids({ updatedBefore: at(2) })).toEqual(['id-a']);
    expect((await store.findById('Shop.Order', 'id-a'))?.labels).toEqual({
      'wf.type': 'Signup',
      status: 'running',
    });

    expect(await store.delete('Shop.Order', 'id-b')).toBe(true);
    expect(await store.delete('Shop.Order', 'id-b')).toBe(false);
    expect(await ids({})).toEqual(['id-a', 'id-c', 'id-d']);
    // A completing commit keeps labels and sets retention; a commit without labels removes them.
    const until = at(60);
    await store.commit({
      expectedVersion: 1,
      newOutbox: [],
      record: {
        ...labelled('c', 'completed', 3),
        version: 2,
        status: 'completed',
        state: null,
        retainUntil: until,
      },
    });
    expect(await store.findById('Shop.Order', 'id-c')).toMatchObject({
      status: 'completed',
      retainUntil: until,
      labels: { status: 'completed' },
    });
    expect(await ids({ labels: { status: 'completed' } })).toEqual(['id-c']);
    // A commit without labels removes them.
    await store.commit({
      expectedVersion: 1,
      newOutbox: [],
      record: record('a', 2, {}, { createdAt: at(1) }),
    });
    expect((await store.findById('Shop.Order', 'id-a'))?.labels).toBeUndefined();
  });

  it('finds an instance by correlation with one _id read when its id is the derived one or hinted, else by the index', async () => {
    database = databaseFor('lookup');
    const client = new MongoClient(mongoUrl, { monitorCommands: true });
    store = new MongoSagaStore({ client, database, logger: silentLogger });
    await store.init();
    const derived = { ...record('derived', 1, { n: 1 }), id: sagaInstanceId('Shop.Order', 'derived') };
    await store.commit({ expectedVersion: 0, newOutbox: [], record: derived });
    await store.commit({ expectedVersion: 0, newOutbox: [], record: record('other-id', 1, { n: 2 }) });
    const finds: object[] = [];
    client.on('commandStarted', (event) => {
      if (event.commandName === 'find') finds.push(event.command.filter as object);
    });

    expect((await store.findByCorrelation('Shop.Order', 'derived'))?.state).toEqual({ n: 1 });
    expect(finds).toEqual([{ _id: `Shop.Order/${derived.id}` }]);
    finds.length = 0;
    // Created under another id: the _id read misses, the correlation query finds it.
    expect((await store.findByCorrelation('Shop.Order', 'other-id'))?.id).toBe('id-other-id');
    expect(finds).toHaveLength(2);
    expect(await store.findByCorrelation('Shop.Order', 'nobody')).toBeUndefined();
    // With the id as a hint (the dispatcher's call) only that _id is read.
    finds.length = 0;
    expect((await store.findByCorrelation('Shop.Order', 'derived', { id: derived.id }))?.version).toBe(1);
    const hint = { id: sagaInstanceId('Shop.Order', 'other-id') };
    expect(await store.findByCorrelation('Shop.Order', 'other-id', hint)).toBeUndefined();
    expect(finds).toHaveLength(2);
    await store.close();
    await client.close();
  });

  it('uses a client it is given without closing it, and the collection prefix', async () => {
    database = databaseFor('client');
    const client = new MongoClient(mongoUrl);
    store = new MongoSagaStore({ client, database, collectionPrefix: 'app_', logger: silentLogger });
    await store.init();
    expect(store.collectionName).toBe('app_sagas');
    await store.close();
    expect(await client.db(database).collection('app_sagas').countDocuments()).toBe(0);
    expect((await client.db(database).collection('app_sagas').indexes()).map((i) => i.name).sort()).toEqual([
      '_id_',
      'longhaul_correlation',
      'longhaul_instances',
      'longhaul_label_terms',
      'longhaul_outbox_oldest',
      'longhaul_outbox_since',
      'longhaul_scan',
      'longhaul_tombstones',
      'longhaul_workflow_status',
    ]);
    expect(await client.db(database).listCollections({ name: 'app_sagas_actions' }).toArray()).toHaveLength(
      1,
    );
    await client.close();
  });
});

describe('MongoDB store configuration', () => {
  const field = (make: () => unknown): string => {
    try {
      make();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      return (error as ConfigurationError).field;
    }
    throw new Error('expected a ConfigurationError');
  };

  it('names the bad field', () => {
    expect(field(() => new MongoSagaStore({}))).toBe('url');
    expect(field(() => new MongoSagaStore({ url: 'http://localhost' }))).toBe('url');
    expect(field(() => new MongoSagaStore({ url: 'mongodb://' }))).toBe('url');
    expect(field(() => new MongoSagaStore({ url: mongoUrl, client: new MongoClient(mongoUrl) }))).toBe('url');
    expect(field(() => new MongoSagaStore({ client: {} as MongoClient }))).toBe('client');
    expect(field(() => new MongoSagaStore({ url: mongoUrl, database: 'a.b' }))).toBe('database');
    expect(field(() => new MongoSagaStore({ url: mongoUrl, database: '' }))).toBe('database');
    expect(field(() => new MongoSagaStore({ url: mongoUrl, collectionPrefix: 'a$' }))).toBe(
      'collectionPrefix',
    );
    expect(field(() => new MongoSagaStore({ url: mongoUrl, collection: 'system.x' }))).toBe('collection');
    expect(field(() => new MongoTimeoutStore({ url: mongoUrl, serverSelectionTimeout: 'soon' }))).toBe(
      'serverSelectionTimeout',
    );
    expect(field(() => new MongoTimeoutStore({ url: mongoUrl, serverSelectionTimeout: 0 }))).toBe(
      'serverSelectionTimeout',
    );
    expect(new MongoTimeoutStore({ url: mongoUrl }).collectionName).toBe('longhaul_timeouts');
  });

  it('fails init with an error naming the host, never the password, when the server is unreachable', async () => {
    const store = new MongoSagaStore({
      url: 'mongodb://longhaul:s3cr%40t-pw@127.0.0.1:1/?authSource=admin',
      serverSelectionTimeout: '300ms',
      logger: silentLogger,
    });
    const error = await store.init().then(
      () => undefined,
      (e: unknown) => e,
    );
    await store.close();
    expect(error).toBeInstanceOf(MongoStoreUnavailableError);
    const text = `${(error as Error).message} ${String((error as Error).cause)} ${JSON.stringify(error)}`;
    expect((error as Error).message).toMatch(
      /Cannot connect to MongoDB at 127\.0\.0\.1:1 \(database 'longhaul'\) within 300 ms/,
    );
    expect(text).not.toMatch(/s3cr/);
    expect((error as MongoStoreUnavailableError).code).toBe('store-unavailable');
  });
});
