/**
 * The dedupe window's cost: one long-lived instance handles `n` messages one after another (for
 * each, the store's load and conditional commit of state and inbox, as the commit path does), with
 * its inbox holding `held` handled ids inside the window before the run. `held` = 0 is an empty window; `held` = 417 is an instance handling 10,000 messages a day
 * with the default one-hour window; `held` = 1000 is a full window at the default cap (every
 * commit then also evicts one id, counted). The FerretDB rows report the stored document's BSON
 * size with that inbox.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { BSON } from 'mongodb';
import { InMemorySagaStore, MongoSagaStore, type SagaStore, silentLogger } from '../../src/index.js';
import { recordHandled } from '../../src/sagas/inbox.js';
import { sagaInstanceId } from '../../src/util/ids.js';
import { percentile, type BenchRow, type Sample } from '../lib.js';
import { withDatabase } from './mongodb.js';

const SAGA = 'bench.dedupe.Counter';
const KEY = 'the-one';

/** Stores the instance with `held` handled ids, all handled in the last minutes (inside the window). */
async function seed(store: SagaStore, held: number): Promise<void> {
  const now = Date.now();
  await store.commit({
    expectedVersion: 0,
    newOutbox: [],
    record: {
      sagaType: SAGA,
      id: sagaInstanceId(SAGA, KEY),
      correlationKey: KEY,
      version: 1,
      status: 'active',
      state: { n: 0, payload: 'x'.repeat(64) },
      inbox: Array.from({ length: held }, (_, i) => ({
        id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        at: new Date(now - (held - i) * 1000),
      })),
      timeouts: [],
      createdAt: new Date(now),
      updatedAt: new Date(now),
    },
  });
}

/**
 * The store's part of handling one message, `n` times on the one instance: the load, then the
 * conditional commit of the next version with the handled id recorded in the inbox, as the commit
 * path does, the inbox staying at `held` ids (for 0: a window so short ids expire at once). Transport and handler are left out: they cost
 * the same whatever the inbox holds.
 */
async function run(store: SagaStore, held: number, n: number): Promise<Sample> {
  await store.init();
  await seed(store, held);
  // Steady state: the inbox keeps holding `held` ids (none for the empty window: ids expire at once).
  const policy = { windowMs: held === 0 ? 0 : 3_600_000, cap: Math.max(1, held) };
  const latencies: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const record = await store.findByCorrelation(SAGA, KEY, { id: sagaInstanceId(SAGA, KEY) });
    if (!record) throw new Error('the instance is gone');
    if (record.inbox.some((e) => e.id === `m-${i}`)) throw new Error('a fresh id found in the inbox');
    const now = new Date();
    const inbox = recordHandled(record.inbox, `m-${i}-${randomUUID()}`, now, policy);
    const state = record.state as { n: number; payload: string };
    await store.commit({
      expectedVersion: record.version,
      newOutbox: [],
      record: {
        ...record,
        version: record.version + 1,
        state: { ...state, n: state.n + 1 },
        inbox: inbox.inbox,
        updatedAt: now,
      },
    });
    latencies.push(performance.now() - started);
  }
  const seconds = (performance.now() - t0) / 1000;
  const record = await store.findByCorrelation(SAGA, KEY);
  const count = (record?.state as { n?: number } | null)?.n ?? 0;
  return {
    messagesPerSecond: n / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    extra: {
      held,
      inboxAfter: record?.inbox.length ?? 0,
      msPerMessage: Number(((seconds * 1000) / n).toFixed(3)),
    },
    ...(count === n ? {} : { invalid: `committed ${count} of ${n}` }),
  };
}

async function ferretRun(held: number, n: number): Promise<Sample> {
  return withDatabase(async (client, database) => {
    const store = new MongoSagaStore({ client, database, logger: silentLogger });
    const sample = await run(store, held, n);
    const doc = await client.db(database).collection(store.collectionName).findOne({ correlationKey: KEY });
    return { ...sample, extra: { ...sample.extra, documentBytes: doc ? BSON.calculateObjectSize(doc) : 0 } };
  });
}

/** The window sizes measured: empty, 10,000 messages a day in a one-hour window, full at the default cap. */
const HELD = [0, 417, 1000] as const;

export function dedupeRows(sizes: { memory: number; ferretdb: number }): BenchRow[] {
  return [
    ...HELD.map((held): BenchRow => ({
      name: `dedupe/memory-${held}`,
      description: `one instance, ${sizes.memory} messages in a row, inbox holding ${held} ids in the window (in memory)`,
      run: () => run(new InMemorySagaStore(), held, sizes.memory),
    })),
    ...HELD.map((held): BenchRow => ({
      name: `dedupe/ferretdb-${held}`,
      description: `one instance, ${sizes.ferretdb} messages in a row, inbox holding ${held} ids in the window (MongoSagaStore on FerretDB)`,
      run: () => ferretRun(held, sizes.ferretdb),
    })),
  ];
}
