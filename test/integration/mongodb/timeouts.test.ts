/**
 * The MongoDB timeout store under the real TimeoutScheduler, against the gated test store: two
 * schedulers racing over many due timeouts, a claimer that dies holding leases, far-away timeouts,
 * and a stored timeout that cannot be decoded.
 */
import { describe, expect, it } from 'vitest';
import { type ClaimedTimeout, systemClock, silentLogger, type Logger } from '../../../src/index.js';
import { TimeoutScheduler } from '../../../src/timeouts/scheduler.js';
import { type TimeoutRecord } from '../../../src/timeouts/timeout-store.js';
import { MongoTimeoutStore } from '../../../src/timeouts/mongodb/index.js';
import { databaseFor, eventually, suiteFixture, storeOptions } from './support.js';

const DAY = 86_400_000;

function timeout(id: string, dueAt: Date, sagaId = 's-1'): TimeoutRecord {
  return {
    id,
    dueAt,
    destination: 'orders',
    message: { messageId: id, headers: { 'longhaul.type': 'x.Due', 'longhaul.saga-id': sagaId }, body: '{}' },
    sagaType: 'Orders',
    sagaId,
  };
}

describe('MongoDB timeout store with schedulers', () => {
  const fixture = suiteFixture();
  const cleanup = fixture.cleanup;

  /** Stores sharing one database, each with its own client (as separate processes would). */
  let database = '';
  async function stores(count: number, logger: Logger = silentLogger): Promise<MongoTimeoutStore[]> {
    database = databaseFor('timeouts');
    const list = Array.from(
      { length: count },
      () => new MongoTimeoutStore(storeOptions(database, { logger })),
    );
    for (const store of list) await store.init();
    const name = database;
    cleanup.push(async () => {
      for (const store of list) await store.close();
      await fixture.raw.db(name).dropDatabase();
    });
    return list;
  }

  function scheduler(store: MongoTimeoutStore, delivered: Map<string, number>, batchSize: number) {
    return new TimeoutScheduler(
      store,
      async (t: ClaimedTimeout) => {
        delivered.set(t.id, (delivered.get(t.id) ?? 0) + 1);
      },
      systemClock,
      silentLogger,
      { pollIntervalMs: 1000, batchSize, leaseMs: 30_000 },
    );
  }

  it('two schedulers racing over 500 due timeouts deliver each exactly once', async () => {
    const [a, b] = (await stores(2)) as [MongoTimeoutStore, MongoTimeoutStore];
    const now = Date.now();
    const ids = Array.from({ length: 500 }, (_, i) => `due-${String(i).padStart(3, '0')}`);
    for (let i = 0; i < ids.length; i += 50) {
      await Promise.all(
        ids.slice(i, i + 50).map((id, j) => a.schedule(timeout(id, new Date(now - 60_000 + i + j)))),
      );
    }
    const delivered = new Map<string, number>();
    const byScheduler = [0, 0];
    const deadline = Date.now() + 60_000;
    await Promise.all(
      [scheduler(a, delivered, 50), scheduler(b, delivered, 50)].map(async (s, index) => {
        while (delivered.size < ids.length && Date.now() < deadline) {
          const { claimed, delivered: count } = await s.runOnce();
          byScheduler[index] = (byScheduler[index] ?? 0) + count;
          if (claimed === 0) await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }),
    );
    console.log(`500 timeouts: scheduler A delivered ${byScheduler[0]}, scheduler B ${byScheduler[1]}`);
    expect([...delivered.keys()].sort()).toEqual(ids);
    expect([...delivered.values()].every((n) => n === 1)).toBe(true);
    expect((byScheduler[0] ?? 0) + (byScheduler[1] ?? 0)).toBe(500);
    expect(await a.nextDueAt()).toBeUndefined();
  }, 90_000);

  it('timeouts leased by a claimer that died are delivered by another once the lease expires', async () => {
    const [dead, alive] = (await stores(2)) as [MongoTimeoutStore, MongoTimeoutStore];
    const now = Date.now();
    const ids = Array.from({ length: 20 }, (_, i) => `orphan-${i}`);
    for (const [i, id] of ids.entries()) await dead.schedule(timeout(id, new Date(now - 1000 + i)));
    const leaseMs = 1500;
    const { timeouts: taken } = await dead.claimDue(100, 'dead-scheduler', leaseMs);
    expect(taken.map((t) => t.id).sort()).toEqual([...ids].sort());
    expect(taken[0]?.leaseUntil.getTime()).toBeGreaterThan(now);

    const delivered = new Map<string, number>();
    const survivor = scheduler(alive, delivered, 100);
    const firstLook = await survivor.runOnce();
    // Unless this machine stalled for the whole lease, the dead claimer still holds every timeout.
    if (Date.now() < now + leaseMs) expect(firstLook.claimed).toBe(0);

    const done = await eventually(async () => {
      await survivor.runOnce();
      return delivered.size === ids.length;
    });
    expect(done).toBe(true);
    expect([...delivered.values()].every((n) => n === 1)).toBe(true);
    for (const id of ids) expect(await dead.complete(id, 'dead-scheduler')).toBe(false);
    expect(await alive.nextDueAt()).toBeUndefined();
  });

  it('keeps timeouts months away, reports them as next due, and claims a timeout only once it is due', async () => {
    const [store] = (await stores(1)) as [MongoTimeoutStore];
    const now = new Date();
    const far = new Date(now.getTime() + 200 * DAY);
    const farther = new Date(now.getTime() + 3 * 365 * DAY);
    await store.schedule(timeout('far', far, 's-far'));
    await store.schedule(timeout('farther', farther, 's-far'));
    expect(await store.nextDueAt()).toEqual(far);
    expect((await store.claimDue(10, 'owner', 30_000)).timeouts).toEqual([]);
    expect((await store.listBySaga('Orders', 's-far')).map((t) => t.dueAt)).toEqual([far, farther]);
    const soon = new Date(Date.now() + 1500);
    await store.schedule(timeout('soon', soon));
    expect(await store.nextDueAt()).toEqual(soon);
    const claimed: ClaimedTimeout[] = [];
    expect(
      await eventually(async () => {
        claimed.push(...(await store.claimDue(10, 'owner', 30_000)).timeouts);
        return claimed.length > 0;
      }),
    ).toBe(true);
    expect(claimed.map((t) => t.id)).toEqual(['soon']);
    expect(Date.now()).toBeGreaterThanOrEqual(soon.getTime() - 50); // the server's clock is this machine's
    expect(claimed[0]?.message.headers['longhaul.type']).toBe('x.Due');
    expect(await store.complete('soon', 'owner')).toBe(true);
    expect(await store.nextDueAt()).toEqual(far);
  });

  it('dead-letters (and reports) a stored timeout that cannot be decoded, delivering the others', async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      ...silentLogger,
      warn: (message, fields) => warnings.push(`${message} ${JSON.stringify(fields)}`),
    };
    const [store] = (await stores(1, logger)) as [MongoTimeoutStore];
    const now = Date.now();
    await store.schedule(timeout('broken', new Date(now - 2000)));
    await store.schedule(timeout('fine', new Date(now - 1000)));
    await fixture.raw
      .db(database)
      .collection<{ _id: string }>(store.collectionName)
      .updateOne({ _id: 'broken' }, { $set: { message: 'not a message' } });
    const { timeouts: claimed } = await store.claimDue(10, 'owner', 30_000);
    expect(claimed.map((t) => t.id)).toEqual(['fine']);
    expect(warnings.join('\n')).toMatch(/timeout dead-lettered.*broken.*message is a string/);
    const dead = await store.deadLetters.list();
    expect(dead.map((d) => [d.id, d.destination])).toEqual([['broken', 'orders']]);
    expect(dead[0]?.reason).toMatch(/message is a string/);
    expect((await store.claimDue(10, 'other', 30_000)).timeouts).toEqual([]);
    await expect(store.listBySaga('Orders', 's-1')).rejects.toMatchObject({ code: 'corrupt-document' });
  });
});
