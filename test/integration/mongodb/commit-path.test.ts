/**
 * The commit path (real Endpoints, in-memory transport) on the MongoDB saga store against the gated
 * test store: concurrent handlers on one instance in as many endpoints (processes), concurrent starts for one correlation value, and
 * a document that cannot be decoded.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ConcurrencyError,
  Endpoint,
  Event,
  type HandledMessage,
  Headers,
  InMemoryTransport,
  Saga,
  type SagaCommit,
  type SagaContext,
  type SagaRecord,
  silentLogger,
  StartedBy,
} from '../../../src/index.js';
import { MongoSagaStore } from '../../../src/persistence/mongodb/index.js';
import { codec, envelopeFor } from '../../support/endpoint.js';
import { databaseFor, suiteFixture, storeOptions } from './support.js';

@Event('mongo-commit.Increment')
class Increment {
  constructor(
    readonly counter: string,
    readonly n: number,
  ) {}
}

@Event('mongo-commit.Counted')
class Counted {
  constructor(
    readonly counter: string,
    readonly count: number,
  ) {}
}

interface CounterState {
  count: number;
}

/** Every Increment may start the instance; each adds one and announces the new count. */
@Saga('MongoCounter')
class Counter {
  @StartedBy(Increment, { correlateBy: (m) => m.counter, onExisting: 'handle' })
  async increment(_m: Increment, ctx: SagaContext<CounterState>): Promise<void> {
    ctx.state.count = (ctx.state.count ?? 0) + 1;
    await ctx.publish(new Counted(ctx.correlationKey, ctx.state.count));
  }
}

/** Holds the first `parties` loads until all of them have read, so they all see "no instance". */
class LoadBarrierStore extends MongoSagaStore {
  insertConflicts = 0;
  private arrived = 0;
  private release!: () => void;
  private readonly barrier = new Promise<void>((resolve) => (this.release = resolve));
  parties = 0;

  override async findByCorrelation(sagaType: string, key: string): Promise<SagaRecord | undefined> {
    const found = await super.findByCorrelation(sagaType, key);
    if (this.arrived < this.parties) {
      if (++this.arrived === this.parties) this.release();
      await this.barrier;
    }
    return found;
  }

  override async commit(commit: SagaCommit): Promise<void> {
    try {
      await super.commit(commit);
    } catch (error) {
      if (error instanceof ConcurrencyError && commit.expectedVersion === 0) this.insertConflicts++;
      throw error;
    }
  }
}

describe('MongoDB saga store on the commit path', () => {
  const fixture = suiteFixture();
  const cleanup = fixture.cleanup;

  /**
   * `processes` endpoints over one store, each handling one message at a time: in one process the
   * messages for one instance wait their turn, so racing commits need as many processes.
   */
  async function start(
    store: MongoSagaStore,
    database: string,
    processes: number,
  ): Promise<{
    names: string[];
    endpoints: Endpoint[];
    transport: InMemoryTransport;
    handled: HandledMessage[];
  }> {
    const transport = new InMemoryTransport();
    const handled: HandledMessage[] = [];
    const names = Array.from({ length: processes }, (_, i) => `counter-${i}`);
    const endpoints: Endpoint[] = [];
    // Cleanup runs last first: the store is closed after every endpoint stopped.
    cleanup.push(async () => {
      await store.close();
      await fixture.raw.db(database).dropDatabase();
    });
    for (const name of names) {
      const endpoint = new Endpoint({
        name,
        sagas: [Counter],
        transport,
        sagaStore: store,
        logger: silentLogger,
        concurrency: 1,
        // Twenty handlers racing on one document: each may lose many rounds before it wins one.
        sagaOptions: { conflictRetries: 200 },
        timeouts: { pollInterval: Infinity },
        outbox: { sweepInterval: Infinity },
        onHandled: (h) => handled.push(h),
      });
      await endpoint.start();
      endpoints.push(endpoint);
      cleanup.push(() => endpoint.stop());
    }
    return { names, endpoints, transport, handled };
  }

  /** Sends one Increment to each endpoint at once, with the given ids. */
  const sendEach = (transport: InMemoryTransport, names: string[], counter: string, ids: string[]) =>
    Promise.all(
      ids.map((id, i) => transport.send(codec.encode(envelopeFor(new Increment(counter, i), id)), names[i]!)),
    );

  const published = (transport: InMemoryTransport, type: string) =>
    transport.log.filter((r) => r.operation === 'publish' && r.message.headers[Headers.type] === type);

  it('20 concurrent handlers on one instance: every message counted exactly once', async () => {
    const database = databaseFor('commit20');
    const store = new MongoSagaStore(storeOptions(database));
    const { names, transport, handled } = await start(store, database, 20);
    const ids = Array.from({ length: 20 }, () => randomUUID());
    await sendEach(transport, names, 'c-1', ids);
    await transport.whenIdle();

    const record = await store.findByCorrelation('MongoCounter', 'c-1');
    expect(record?.state).toEqual({ count: 20 });
    expect(record?.version).toBe(20);
    expect((record?.inbox ?? []).map((e) => e.id).sort()).toEqual([...ids].sort());
    expect(record?.outbox).toEqual([]);
    expect(names.flatMap((n) => transport.errors(n))).toEqual([]);
    expect(transport.log.filter((r) => r.operation === 'retry')).toEqual([]);
    const counts = published(transport, 'mongo-commit.Counted').map(
      (r) => (JSON.parse(r.message.body.toString()) as Counted).count,
    );
    expect(counts.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const conflicts = handled.flatMap((h) => h.sagas).reduce((sum, o) => sum + (o.conflicts ?? 0), 0);
    console.log(`20 concurrent handlers: ${conflicts} commit conflicts rerun`);
    expect(conflicts).toBeGreaterThan(0);
  }, 90_000);

  it('10 concurrent starts for one correlation value make one instance; the rest conflict and rerun', async () => {
    const database = databaseFor('starts10');
    const store = new LoadBarrierStore(storeOptions(database));
    store.parties = 10;
    const { names, transport } = await start(store, database, 10);
    const ids = Array.from({ length: 10 }, () => randomUUID());
    await sendEach(transport, names, 'c-2', ids);
    await transport.whenIdle();

    // All ten loaded "no instance" and inserted: the unique indexes let one insert through.
    expect(store.insertConflicts).toBe(9);
    const docs = await fixture.raw
      .db(database)
      .collection(store.collectionName)
      .find({ sagaType: 'MongoCounter', correlationKey: 'c-2' })
      .toArray();
    expect(docs).toHaveLength(1);
    const record = await store.findByCorrelation('MongoCounter', 'c-2');
    expect(record?.state).toEqual({ count: 10 });
    expect((record?.inbox ?? []).map((e) => e.id).sort()).toEqual([...ids].sort());
    expect(names.flatMap((n) => transport.errors(n))).toEqual([]);
  });

  it('the correlation index alone rejects a second instance id for one key (10 concurrent inserts)', async () => {
    const database = databaseFor('corr10');
    const store = new MongoSagaStore(storeOptions(database));
    await store.init();
    cleanup.push(async () => {
      await store.close();
      await fixture.raw.db(database).dropDatabase();
    });
    const at = new Date('2026-05-01T00:00:00Z');
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        store.commit({
          expectedVersion: 0,
          newOutbox: [],
          record: {
            sagaType: 'Direct',
            id: `instance-${i}`,
            correlationKey: 'shared',
            version: 1,
            status: 'active',
            state: { i },
            inbox: [],
            timeouts: [],
            createdAt: at,
            updatedAt: at,
          },
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConcurrencyError);
    expect(
      await fixture.raw.db(database).collection(store.collectionName).countDocuments({ sagaType: 'Direct' }),
    ).toBe(1);
  });

  for (const [what, corrupt] of [
    ['state set to a string', { $set: { state: 'garbage' } }],
    ['version removed', { $unset: { version: '' } }],
    ['an inbox entry that is not a string', { $set: { inbox: [42] } }],
    ['an inbox time that is not a date', { $set: { inboxAt: ['yesterday'] } }],
  ] as const) {
    it(`a document that fails to decode (${what}) sends the message to the error queue and changes nothing`, async () => {
      const database = databaseFor('corrupt');
      const store = new MongoSagaStore(storeOptions(database));
      const {
        endpoints: [endpoint],
        names: [name],
        transport,
      } = await start(store, database, 1);
      await endpoint!.bus.publish(new Increment('c-3', 1));
      await transport.whenIdle();
      const collection = fixture.raw.db(database).collection(store.collectionName);
      await collection.updateOne({ sagaType: 'MongoCounter', correlationKey: 'c-3' }, corrupt);
      const before = await collection.findOne({ sagaType: 'MongoCounter', correlationKey: 'c-3' });

      const second = await endpoint!.bus.publish(new Increment('c-3', 2));
      await transport.whenIdle();

      const errors = transport.errors(name!);
      expect(errors.map((e) => e.messageId)).toEqual([second]);
      expect(errors[0]?.headers[Headers.errorReason]).toBe('corrupt-document');
      expect(errors[0]?.headers[Headers.errorMessage]).toMatch(
        /CorruptDocumentError: Document 'MongoCounter\/.*' in 'longhaul_sagas' cannot be decoded/,
      );
      expect(errors[0]?.headers[Headers.errorAttempts]).toBe('1');
      expect(await collection.findOne({ sagaType: 'MongoCounter', correlationKey: 'c-3' })).toEqual(before);
      expect(published(transport, 'mongo-commit.Counted')).toHaveLength(1);
      expect(transport.log.filter((r) => r.operation === 'retry')).toEqual([]);
      await expect(store.findByCorrelation('MongoCounter', 'c-3')).rejects.toMatchObject({
        name: 'CorruptDocumentError',
        code: 'corrupt-document',
      });
    });
  }

  it('a first message redelivered after 300 others changes nothing; an inbox of the old shape still dedupes', async () => {
    const database = databaseFor('window300');
    const store = new MongoSagaStore(storeOptions(database));
    const {
      endpoints: [endpoint],
      transport,
      handled,
    } = await start(store, database, 1);
    if (!endpoint) throw new Error('no endpoint');
    const first = await endpoint.bus.publish(new Increment('c-4', 0));
    for (let i = 1; i <= 300; i++) await endpoint.bus.publish(new Increment('c-4', i));
    await transport.whenIdle();
    expect((await store.findByCorrelation('MongoCounter', 'c-4'))?.state).toEqual({ count: 301 });

    await endpoint.bus.publish(new Increment('c-4', 0), { messageId: first });
    await transport.whenIdle();
    const record = await store.findByCorrelation('MongoCounter', 'c-4');
    expect(record?.state).toEqual({ count: 301 });
    expect(record?.inbox).toHaveLength(301);
    expect(handled.at(-1)?.sagas[0]?.result).toBe('duplicate');
    expect(published(transport, 'mongo-commit.Counted')).toHaveLength(301);
    expect(endpoint.counters.inboxEvictedInWindow).toBe(0);

    // A document written before the window existed keeps plain ids: they still dedupe, and the
    // next commit rewrites them as { id, at }, timed at the document's last update.
    const collection = fixture.raw.db(database).collection(store.collectionName);
    const legacy = ['legacy-1', 'legacy-2'];
    await collection.updateOne(
      { sagaType: 'MongoCounter', correlationKey: 'c-4' },
      { $set: { inbox: legacy } },
    );
    await endpoint.bus.publish(new Increment('c-4', 0), { messageId: 'legacy-1' });
    await transport.whenIdle();
    expect((await store.findByCorrelation('MongoCounter', 'c-4'))?.state).toEqual({ count: 301 });
    await endpoint.bus.publish(new Increment('c-4', 0), { messageId: 'new-1' });
    await transport.whenIdle();
    const doc = await collection.findOne({ sagaType: 'MongoCounter', correlationKey: 'c-4' });
    expect(doc?.inbox).toEqual(['legacy-1', 'legacy-2', 'new-1']);
    expect(doc?.inboxAt).toEqual([record?.updatedAt, record?.updatedAt, expect.any(Date)]);
    expect(doc?.state).toEqual({ count: 302 });
  }, 300_000);
});
