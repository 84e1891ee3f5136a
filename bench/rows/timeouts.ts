/**
 * Workload T: `count` timeouts (10,000 by default) all falling due at the same instant T, claimed
 * and delivered by one TimeoutScheduler running its own loop (poll interval 1 s, batch 1000, as
 * `Endpoint` would with `timeouts.batchSize: 1000`); delivery is recorded in memory (no broker), so
 * the row measures the scheduler and the store. The timeouts are stored before T (not timed) and
 * the scheduler is started before T, so it sleeps until the earliest due time.
 *
 * Reports timeouts/s (delivered ÷ time from T to the last delivery) and lateness (delivery time
 * − T: p50 and p99 in the latency columns, max in the details).
 */
import { performance } from 'node:perf_hooks';
import {
  InMemoryTimeoutStore,
  MongoTimeoutStore,
  silentLogger,
  systemClock,
  type TimeoutStore,
} from '../../src/index.js';
import { TimeoutScheduler } from '../../src/timeouts/scheduler.js';
import { type BenchRow, percentile, type Sample } from '../lib.js';
import { withDatabase } from './mongodb.js';

/** Lead time between loading the timeouts and T. */
const LEAD_MS = 1000;

const message = (id: string) => ({
  messageId: id,
  headers: { 'longhaul.type': 'bench.Due' },
  body: '{}',
});

/** Runs the scheduler on `store` (already holding `count` timeouts due at `dueAt`). */
async function deliverAll(store: TimeoutStore, count: number, dueAt: number): Promise<Sample> {
  const lateness: number[] = [];
  const delivered = new Set<string>();
  let duplicates = 0;
  let resolveAll: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (resolveAll = resolve));
  // performance.now() for precision, anchored to the wall clock the due times use.
  const wallAtZero = Date.now() - performance.now();
  const scheduler = new TimeoutScheduler(
    store,
    async (t) => {
      if (delivered.has(t.id)) duplicates++;
      delivered.add(t.id);
      lateness.push(wallAtZero + performance.now() - dueAt);
      if (delivered.size === count) resolveAll();
    },
    systemClock,
    silentLogger,
    { pollIntervalMs: 1000, batchSize: 1000, leaseMs: 600_000 },
  );
  scheduler.start();
  let timer: NodeJS.Timeout | undefined;
  const limitMs = Math.max(60_000, count * 200);
  const finished = await Promise.race([
    all.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), limitMs))),
  ]);
  clearTimeout(timer);
  const lastAt = wallAtZero + performance.now();
  await scheduler.stop();
  const seconds = (lastAt - dueAt) / 1000;
  const problems: string[] = [];
  if (!finished) problems.push(`not finished within ${limitMs} ms`);
  if (delivered.size !== count || duplicates > 0)
    problems.push(`delivered ${delivered.size} of ${count}, ${duplicates} twice`);
  return {
    messagesPerSecond: delivered.size / seconds,
    p50Ms: percentile(lateness, 50),
    p99Ms: percentile(lateness, 99),
    extra: {
      timeouts: count,
      batch: 1000,
      seconds: Number(seconds.toFixed(2)),
      maxLatenessMs: Math.round(Math.max(...lateness)),
    },
    ...(problems.length > 0 ? { invalid: problems.join('; ') } : {}),
  };
}

async function memoryRun(count: number): Promise<Sample> {
  const store = new InMemoryTimeoutStore();
  await store.init();
  const dueAt = Date.now() + LEAD_MS;
  for (let i = 0; i < count; i++) {
    const id = `bench-timeout-${i}`;
    await store.schedule({ id, dueAt: new Date(dueAt), destination: 'bench', message: message(id) });
  }
  return deliverAll(store, count, dueAt);
}

async function ferretRun(count: number): Promise<Sample> {
  return withDatabase(async (client, database) => {
    const store = new MongoTimeoutStore({ client, database, logger: silentLogger });
    await store.init();
    // One through the store, to copy its stored layout; the rest loaded in bulk (not timed).
    await store.schedule({
      id: 'bench-timeout-0',
      dueAt: new Date(0),
      destination: 'bench',
      message: message('bench-timeout-0'),
    });
    const collection = client.db(database).collection<Record<string, unknown>>(store.collectionName);
    const template = (await collection.findOne({ _id: 'bench-timeout-0' as never }))!;
    for (let start = 1; start < count; start += 1000) {
      await collection.insertMany(
        Array.from({ length: Math.min(1000, count - start) }, (_, j) => {
          const id = `bench-timeout-${start + j}`;
          return {
            ...template,
            _id: id as never,
            message: { ...(template.message as object), messageId: id },
          };
        }),
      );
    }
    // Setting the due time takes a while on FerretDB: leave it time, and if it is still late,
    // count lateness from the moment all timeouts were due and stored.
    const dueAt = Date.now() + LEAD_MS + count;
    await collection.updateMany({}, { $set: { dueAt: new Date(dueAt) } });
    return deliverAll(store, count, Math.max(dueAt, Date.now()));
  });
}

/** Workload T rows: in memory and on FerretDB (one round each on FerretDB: minutes). */
export function timeoutRows(counts: { memory: number; ferretdb: number }): BenchRow[] {
  return [
    {
      name: 'T/longhaul/memory',
      description: `${counts.memory} timeouts due at once, one TimeoutScheduler on the InMemoryTimeoutStore: timeouts/s, lateness p50/p99 (ms)`,
      run: () => memoryRun(counts.memory),
    },
    {
      name: 'T/longhaul/ferretdb',
      description: `${counts.ferretdb} timeouts due at once, one TimeoutScheduler on the MongoTimeoutStore (FerretDB): timeouts/s, lateness p50/p99 (ms)`,
      maxRounds: 1,
      run: () => ferretRun(counts.ferretdb),
    },
  ];
}
