/**
 * The scheduler and the stores work a batch at a time: a batch of due timeouts costs one claim and
 * one delete per {@link COMPLETE_EVERY} delivered (counted at the store port, in memory and on the
 * MongoDB-compatible test store), and on MongoDB each of those is a fixed number of commands
 * whatever the batch size (counted with the driver's command monitoring). Delivered timeouts stay
 * leased until their group is deleted, and a failed delete leaves them to be delivered again
 * rather than dropping them silently.
 */
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryTimeoutStore, silentLogger, systemClock, VirtualClock } from '../../src/index.js';
import { type Logger } from '../../src/util/logger.js';
import { COMPLETE_EVERY } from '../../src/timeouts/batch-delivery.js';
import { MongoTimeoutStore } from '../../src/timeouts/mongodb/index.js';
import { TimeoutScheduler } from '../../src/timeouts/scheduler.js';
import { type TimeoutRecord, type TimeoutStore } from '../../src/timeouts/timeout-store.js';
import { databaseFor, mongoUrl } from '../integration/mongodb/support.js';

function due(id: string, dueAt: Date): TimeoutRecord {
  return { id, dueAt, destination: 'x', message: { messageId: id, headers: {}, body: '{}' } };
}

/** The calls made to a store, by method name (`completeMany` also records how many ids). */
interface Calls {
  count: Record<string, number>;
  completed: string[];
}

/** `store`, counting the calls made to it; `failCompletes` makes that many `completeMany` calls throw. */
function counting(store: TimeoutStore, failCompletes = 0): { store: TimeoutStore; calls: Calls } {
  const calls: Calls = { count: {}, completed: [] };
  const proxy = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function' || typeof key !== 'string') return value;
      return (...args: unknown[]) => {
        calls.count[key] = (calls.count[key] ?? 0) + 1;
        if (key === 'completeMany') {
          if (failCompletes-- > 0) return Promise.reject(new Error('store unreachable'));
          calls.completed.push(...(args[0] as string[]));
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, calls };
}

/** Schedules `n` timeouts due by now and runs one scheduler pass over them (batch = n, instant delivery). */
async function onePass(store: TimeoutStore, n: number, tag: string) {
  const past = new Date(Date.now() - 60_000);
  for (let i = 0; i < n; i++) await store.schedule(due(`${tag}-${String(i).padStart(4, '0')}`, past));
  const { store: counted, calls } = counting(store);
  const delivered: string[] = [];
  const scheduler = new TimeoutScheduler(
    counted,
    async (t) => void delivered.push(t.id),
    systemClock,
    silentLogger,
    { pollIntervalMs: 1000, batchSize: n, leaseMs: 60_000, concurrency: 8 },
  );
  const result = await scheduler.runOnce();
  return { result, calls, delivered };
}

const storeKinds: [string, () => Promise<{ store: TimeoutStore; dispose: () => Promise<void> }>][] = [
  ['in memory', async () => ({ store: new InMemoryTimeoutStore(), dispose: async () => undefined })],
  [
    'on the MongoDB-compatible test store',
    async () => {
      const database = databaseFor('batching');
      const store = new MongoTimeoutStore({ url: mongoUrl, database, logger: silentLogger });
      await store.init();
      return {
        store,
        dispose: async () => {
          const client = new MongoClient(mongoUrl);
          await client.db(database).dropDatabase();
          await client.close();
          await store.close();
        },
      };
    },
  ],
];

describe.each(storeKinds)('a scheduler pass %s', (_, create) => {
  it('claims a batch with one claimDue and deletes it with one completeMany, never one complete per timeout', async () => {
    const { store, dispose } = await create();
    try {
      const { result, calls, delivered } = await onePass(store, 60, 'small');
      expect(result).toEqual({ claimed: 60, delivered: 60 });
      expect(new Set(delivered).size).toBe(60);
      expect(calls.count.claimDue).toBe(1);
      expect(calls.count.completeMany).toBe(1);
      expect(calls.count.complete).toBeUndefined();
      expect(calls.completed.sort()).toEqual([...delivered].sort());
      expect((await store.claimDue(100, 'anyone', 1000)).timeouts).toEqual([]);
      expect(await store.nextDueAt()).toBeUndefined();
    } finally {
      await dispose();
    }
  });

  it(`deletes a larger batch in groups of ${COMPLETE_EVERY}, each timeout once`, async () => {
    const { store, dispose } = await create();
    try {
      const n = 2 * COMPLETE_EVERY + 50;
      const { result, calls } = await onePass(store, n, 'large');
      expect(result).toEqual({ claimed: n, delivered: n });
      expect(calls.count.claimDue).toBe(1);
      expect(calls.count.completeMany).toBeLessThanOrEqual(Math.floor(n / COMPLETE_EVERY) + 1);
      expect(calls.completed).toHaveLength(n);
      expect(new Set(calls.completed).size).toBe(n);
      expect(await store.nextDueAt()).toBeUndefined();
    } finally {
      await dispose();
    }
  });
});

describe('a failed group delete', () => {
  it('is logged, and its timeouts stay leased until the lease expires, then are delivered again', async () => {
    const clock = new VirtualClock();
    const inner = new InMemoryTimeoutStore({ clock });
    for (const id of ['a', 'b', 'c']) await inner.schedule(due(id, clock.now()));
    const { store, calls } = counting(inner, 1);
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (message) => void warnings.push(message) };
    const delivered: string[] = [];
    const scheduler = new TimeoutScheduler(store, async (t) => void delivered.push(t.id), clock, logger, {
      pollIntervalMs: 1000,
      batchSize: 10,
      leaseMs: 30_000,
    });
    expect(await scheduler.runOnce()).toEqual({ claimed: 3, delivered: 3 });
    expect(warnings.some((w) => w.includes('could not be deleted'))).toBe(true);
    expect(inner.size).toBe(3);
    expect(await scheduler.runOnce()).toEqual({ claimed: 0, delivered: 0 }); // still leased
    await clock.advance(30_000);
    expect(await scheduler.runOnce()).toEqual({ claimed: 3, delivered: 3 });
    expect(delivered.sort()).toEqual(['a', 'a', 'b', 'b', 'c', 'c']);
    expect(calls.completed.sort()).toEqual(['a', 'b', 'c']);
    expect(inner.size).toBe(0);
  });
});

describe('the MongoDB timeout store, command by command', () => {
  let client: MongoClient;
  let database: string;
  const commands: string[] = [];
  beforeAll(async () => {
    client = new MongoClient(mongoUrl, { monitorCommands: true });
    client.on('commandStarted', (event) => {
      if (event.databaseName === database) commands.push(event.commandName);
    });
    await client.connect();
  });
  afterAll(async () => {
    await client.db(database).dropDatabase();
    await client.close();
  });

  it('claims, renews and completes 150 timeouts with a fixed number of commands', async () => {
    database = databaseFor('batch_commands');
    const store = new MongoTimeoutStore({ client, database, logger: silentLogger });
    await store.init();
    const past = new Date(Date.now() - 60_000);
    await Promise.all(Array.from({ length: 150 }, (_, i) => store.schedule(due(`t${i}`, past))));
    const tally = async (work: () => Promise<unknown>) => {
      commands.length = 0;
      await work();
      return commands.reduce<Record<string, number>>((n, name) => ({ ...n, [name]: (n[name] ?? 0) + 1 }), {});
    };

    let claimed: string[] = [];
    expect(
      await tally(async () => {
        claimed = (await store.claimDue(150, 'owner-1', 60_000)).timeouts.map((t) => t.id);
      }),
    ).toEqual({ find: 2, update: 1 });
    expect(claimed).toHaveLength(150);
    let renewed: string[] = [];
    expect(
      await tally(async () => {
        renewed = await store.renew(claimed, 'owner-1', 60_000);
      }),
    ).toEqual({ find: 1, update: 1 });
    expect(renewed).toEqual(claimed);
    let deleted = 0;
    expect(
      await tally(async () => {
        deleted = await store.completeMany(claimed, 'owner-1');
      }),
    ).toEqual({ delete: 1 });
    expect(deleted).toBe(150);
    await store.close();
  });
});
