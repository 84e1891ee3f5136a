/**
 * The MongoDB timeout store on the gated test store, for what depends on time and leases: a worker
 * whose clock is minutes off (the server's clock decides), a slow transport under a short lease
 * (two schedulers, no timeout delivered twice), and timeouts stored by the earlier version (no
 * `state`/`availableAt`) still claimed after an upgrade.
 */
import { describe, expect, it } from 'vitest';
import { type Clock, systemClock, silentLogger, type ClaimedTimeout } from '../../../src/index.js';
import { TimeoutScheduler, type SchedulerOptions } from '../../../src/timeouts/scheduler.js';
import { type TimeoutRecord } from '../../../src/timeouts/timeout-store.js';
import { MongoTimeoutStore } from '../../../src/timeouts/mongodb/index.js';
import { databaseFor, eventually, storeOptions, suiteFixture } from './support.js';

const MINUTE = 60_000;

function timeout(id: string, dueAt: Date): TimeoutRecord {
  return { id, dueAt, destination: 'orders', message: { messageId: id, headers: {}, body: '{}' } };
}

/** The system clock read `byMs` off: a worker whose wall clock is wrong. */
function skewed(byMs: number): Clock {
  return { now: () => new Date(Date.now() + byMs), sleep: systemClock.sleep };
}

describe('MongoDB timeout store: clocks and leases', () => {
  const fixture = suiteFixture();
  let database = '';

  async function stores(count: number): Promise<MongoTimeoutStore[]> {
    database = databaseFor('timeout_leases');
    const list = Array.from({ length: count }, () => new MongoTimeoutStore(storeOptions(database)));
    for (const store of list) await store.init();
    const name = database;
    fixture.cleanup.push(async () => {
      for (const store of list) await store.close();
      await fixture.raw.db(name).dropDatabase();
    });
    return list;
  }

  it('a worker clock minutes ahead neither fires a timeout early nor takes a live lease', async () => {
    const [a, b] = (await stores(2)) as [MongoTimeoutStore, MongoTimeoutStore];
    const options: SchedulerOptions = { pollIntervalMs: 100, batchSize: 10, leaseMs: 30_000 };
    const delivered: string[] = [];
    let release: () => void = () => undefined;
    const inFlight = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    const correct = new TimeoutScheduler(
      a,
      async (t) => {
        started = true;
        await inFlight;
        delivered.push(`correct:${t.id}`);
      },
      systemClock,
      silentLogger,
      options,
    );
    const ahead = new TimeoutScheduler(
      b,
      async (t) => void delivered.push(`ahead:${t.id}`),
      skewed(5 * MINUTE),
      silentLogger,
      options,
    );
    const dueAt = new Date(Date.now() + 2000);
    await a.schedule(timeout('soon', dueAt));
    expect(await ahead.runOnce()).toEqual({ claimed: 0, delivered: 0 }); // due by its clock only

    const correctRun = (async () => {
      for (;;) {
        const result = await correct.runOnce();
        if (result.claimed > 0) return result;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    expect(await eventually(() => started)).toBe(true);
    expect(Date.now()).toBeGreaterThanOrEqual(dueAt.getTime());
    for (let i = 0; i < 3; i++) expect((await ahead.runOnce()).claimed).toBe(0); // the lease is live
    release();
    expect(await correctRun).toEqual({ claimed: 1, delivered: 1 });
    expect(delivered).toEqual(['correct:soon']);
  });

  it('a worker clock minutes behind delivers on time', async () => {
    const [store] = (await stores(1)) as [MongoTimeoutStore];
    const deliveredAt: number[] = [];
    const behind = new TimeoutScheduler(
      store,
      async () => void deliveredAt.push(Date.now()),
      skewed(-5 * MINUTE),
      silentLogger,
      { pollIntervalMs: 200, batchSize: 10, leaseMs: 30_000 },
    );
    const dueAt = Date.now() + 1000;
    await store.schedule(timeout('soon', new Date(dueAt)));
    behind.start();
    try {
      expect(await eventually(() => deliveredAt.length > 0, 10_000)).toBe(true);
    } finally {
      await behind.stop();
    }
    expect(deliveredAt[0]! - dueAt).toBeLessThan(3000); // not five minutes late
    expect(deliveredAt[0]).toBeGreaterThanOrEqual(dueAt - 50);
  });

  it('two schedulers and a slow transport under a short lease: every timeout delivered once', async () => {
    const [a, b] = (await stores(2)) as [MongoTimeoutStore, MongoTimeoutStore];
    const ids = Array.from({ length: 16 }, (_, i) => `slow-${i}`);
    const now = Date.now();
    for (const [i, id] of ids.entries()) await a.schedule(timeout(id, new Date(now - 1000 + i)));
    const deliveries = new Map<string, string[]>();
    const scheduler = (store: MongoTimeoutStore, name: string): TimeoutScheduler =>
      new TimeoutScheduler(
        store,
        async (t: ClaimedTimeout) => {
          await new Promise((resolve) => setTimeout(resolve, 400)); // a publish slower than a third of the lease
          deliveries.set(t.id, [...(deliveries.get(t.id) ?? []), name]);
        },
        systemClock,
        silentLogger,
        { pollIntervalMs: 100, batchSize: 8, leaseMs: 1500, concurrency: 1 },
      );
    const schedulers = [scheduler(a, 'a'), scheduler(b, 'b')];
    for (const s of schedulers) s.start();
    try {
      expect(await eventually(async () => (await a.nextDueAt()) === undefined, 30_000)).toBe(true);
    } finally {
      await Promise.all(schedulers.map((s) => s.stop()));
    }
    // A batch of 8 takes 3.2 s against a 1.5 s lease: without renewal the other scheduler re-claims.
    expect([...deliveries.keys()].sort()).toEqual([...ids].sort());
    expect([...deliveries].filter(([, by]) => by.length > 1)).toEqual([]);
  }, 40_000);

  it('claims timeouts stored by the earlier version (no state, no availableAt) after an upgrade', async () => {
    database = databaseFor('timeout_upgrade');
    const name = database;
    const raw = fixture.raw
      .db(database)
      .collection<Record<string, unknown> & { _id: string }>('longhaul_timeouts');
    const now = Date.now();
    const message = { messageId: 'x', headers: {}, body: '{}' };
    await raw.insertMany([
      // As the earlier store wrote them: due and never leased, leased by a scheduler whose lease
      // ended, leased with a live lease, and not yet due.
      {
        _id: 'due',
        dueAt: new Date(now - 5000),
        destination: 'orders',
        message,
        leaseOwner: null,
        leaseUntil: null,
      },
      {
        _id: 'expired',
        dueAt: new Date(now - 9000),
        destination: 'orders',
        message,
        leaseOwner: 'old',
        leaseUntil: new Date(now - 1000),
      },
      {
        _id: 'live',
        dueAt: new Date(now - 9000),
        destination: 'orders',
        message,
        leaseOwner: 'old',
        leaseUntil: new Date(now + MINUTE),
      },
      {
        _id: 'later',
        dueAt: new Date(now + MINUTE),
        destination: 'orders',
        message,
        leaseOwner: null,
        leaseUntil: null,
      },
    ]);
    const store = new MongoTimeoutStore(storeOptions(database));
    fixture.cleanup.push(async () => {
      await store.close();
      await fixture.raw.db(name).dropDatabase();
    });
    await store.init();
    const claimed = (await store.claimDue(10, 'new', 30_000)).timeouts.map((t) => t.id);
    expect(claimed.sort()).toEqual(['due', 'expired']);
    const shapes = await raw
      .find({ _id: { $in: ['live', 'later'] } })
      .sort({ _id: 1 })
      .toArray();
    expect(shapes.map((d) => [d._id, d.state, d.availableAt])).toEqual([
      ['later', 'waiting', new Date(now + MINUTE)],
      ['live', 'leased', new Date(now + MINUTE)], // the earlier scheduler's lease still holds
    ]);
    // One written by a process still on the earlier version after this one started: upgraded lazily.
    await raw.insertOne({
      _id: 'late-writer',
      dueAt: new Date(now - 1000),
      destination: 'orders',
      message,
      leaseOwner: null,
      leaseUntil: null,
    });
    const store2 = new MongoTimeoutStore(storeOptions(database));
    fixture.cleanup.push(() => store2.close());
    await store2.init();
    expect((await store2.claimDue(10, 'new', 30_000)).timeouts.map((t) => t.id)).toEqual(['late-writer']);
    expect(await raw.countDocuments({ state: { $exists: false } })).toBe(0);
  });
});
