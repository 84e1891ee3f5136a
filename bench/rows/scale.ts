/**
 * Scale and memory: workload S (in memory, `n` sagas) against a saga store already holding
 * `stored` active instances of the same saga type (loaded before the run, not timed). Handling
 * cost should not depend on how many instances are stored: lookups go by correlation key (a Map in
 * memory; the unique `(sagaType, correlationKey)` index on MongoDB — but FerretDB v1 on PostgreSQL
 * answers it with a scan, so its rows use fewer instances and are expected to slow down).
 *
 * The memory rows also report the process RSS and heap growth with the instances loaded and idle;
 * the FerretDB rows the stored document size of one active saga instance (BSON bytes).
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BSON } from 'mongodb';
import {
  InMemorySagaStore,
  MongoSagaStore,
  type SagaRecord,
  type SagaStore,
  silentLogger,
} from '../../src/index.js';
import { type BenchRow, type Sample } from '../lib.js';
import { runLonghaulS } from '../workload-s.js';
import { withDatabase } from './mongodb.js';

const SAGA_TYPE = 'bench.s.Saga';

/** One idle instance as workload S leaves it after its start (state set, command dispatched). */
function instance(i: number, now: Date): Omit<SagaRecord, 'outbox'> {
  return {
    sagaType: SAGA_TYPE,
    id: `stored-${i}`,
    correlationKey: `stored-${i}`,
    version: 1,
    status: 'active',
    state: { sagaId: `stored-${i}`, payload: 'x'.repeat(64) },
    inbox: [{ id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, at: now }],
    timeouts: [],
    createdAt: now,
    updatedAt: now,
  };
}

async function load(store: SagaStore, stored: number): Promise<void> {
  const now = new Date();
  for (let i = 0; i < stored; i++) {
    await store.commit({ record: instance(i, now), expectedVersion: 0, newOutbox: [] });
  }
}

/** `gc()`, exposed at runtime (`npm run bench` cannot pass --expose-gc), or undefined. */
function exposeGc(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

const mb = (bytes: number): number => Number((bytes / 1024 / 1024).toFixed(1));

async function memoryRun(stored: number, n: number, concurrency: number): Promise<Sample> {
  const gc = exposeGc();
  gc?.();
  const before = process.memoryUsage();
  const store = new InMemorySagaStore();
  const t0 = performance.now();
  await load(store, stored);
  const loadSeconds = (performance.now() - t0) / 1000;
  gc?.();
  const loaded = process.memoryUsage();
  const sample = await runLonghaulS(n, concurrency, { sagaStore: store });
  return {
    ...sample,
    extra: {
      ...sample.extra,
      stored,
      loadSeconds: Number(loadSeconds.toFixed(1)),
      rssMB: mb(loaded.rss),
      heapGrowthMB: mb(loaded.heapUsed - before.heapUsed),
      heapBytesPerInstance: Math.round((loaded.heapUsed - before.heapUsed) / stored),
      ...(gc ? {} : { note: 'run node with --expose-gc for exact heap figures' }),
    },
  };
}

async function ferretRun(stored: number, n: number, concurrency: number): Promise<Sample> {
  return withDatabase(async (client, database) => {
    const store = new MongoSagaStore({ client, database, logger: silentLogger });
    await store.init();
    const now = new Date();
    // One instance through the store, to copy its stored layout; the rest loaded in bulk.
    await store.commit({ record: instance(0, now), expectedVersion: 0, newOutbox: [] });
    const collection = client.db(database).collection<Record<string, unknown>>(store.collectionName);
    const template = (await collection.findOne({ sagaType: SAGA_TYPE }))!;
    const documentBytes = BSON.calculateObjectSize(template);
    const t0 = performance.now();
    for (let start = 1; start < stored; start += 1000) {
      await collection.insertMany(
        Array.from({ length: Math.min(1000, stored - start) }, (_, j) => {
          const i = start + j;
          return {
            ...template,
            _id: `${SAGA_TYPE}/stored-${i}` as never,
            id: `stored-${i}`,
            correlationKey: `stored-${i}`,
            state: { sagaId: `stored-${i}`, payload: 'x'.repeat(64) },
          };
        }),
      );
    }
    const loadSeconds = (performance.now() - t0) / 1000;
    const sample = await runLonghaulS(n, concurrency, { sagaStore: store });
    return {
      ...sample,
      extra: {
        ...sample.extra,
        stored,
        loadSeconds: Number(loadSeconds.toFixed(1)),
        sagaDocumentBytes: documentBytes,
      },
    };
  });
}

export interface ScaleSizes {
  /** Instances stored for the small and large memory rows. */
  readonly memory: readonly [number, number];
  /** Instances stored for the small and large FerretDB rows. */
  readonly ferretdb: readonly [number, number];
  /** Sagas run against the memory store, and against FerretDB. */
  readonly n: number;
  readonly storeN: number;
}

const k = (count: number): string => (count >= 1000 ? `${count / 1000}k` : String(count));

export function scaleRows(concurrency: number, sizes: ScaleSizes): BenchRow[] {
  const rows: BenchRow[] = sizes.memory.map((stored) => ({
    name: `scale/memory-${k(stored)}`,
    description: `workload S in memory (${sizes.n} sagas) with ${stored} idle instances already stored; RSS with them loaded`,
    run: () => memoryRun(stored, sizes.n, concurrency),
  }));
  for (const [i, stored] of sizes.ferretdb.entries()) {
    rows.push({
      name: `scale/ferretdb-${i === 0 ? 'small' : 'large'}`,
      description: `workload S, in-memory transport + MongoSagaStore on FerretDB (${sizes.storeN} sagas), ${stored} idle instances stored`,
      maxRounds: 2,
      run: () => ferretRun(stored, sizes.storeN, concurrency),
    });
  }
  return rows;
}
