/**
 * MongoDB rows, against MONGODB_URL (default: the gated FerretDB test store on 27018; start it with
 * `scripts/test-store.sh start`). Each run uses its own database and drops it.
 *
 * - `mongodb/raw`: the driver alone doing what one saga message minimally costs — one read by
 *   correlation key, then one version-checked write (an insert for the first message) — for
 *   workload S's 3 messages per saga, `concurrency` sagas at a time.
 * - `mongodb/commit-path`: workload S (see `memory.ts`) through a Longhaul Endpoint on the
 *   in-memory transport and the MongoSagaStore.
 * - `mongodb/timeouts`: 10,000 due timeouts (env LONGHAUL_BENCH_TIMEOUTS), preloaded and not
 *   timed, claimed and delivered by one TimeoutScheduler on the MongoTimeoutStore: timeouts/s.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { MongoClient } from 'mongodb';
import { silentLogger, systemClock } from '../../src/index.js';
import { MongoSagaStore } from '../../src/persistence/mongodb/index.js';
import { MongoTimeoutStore } from '../../src/timeouts/mongodb/index.js';
import { TimeoutScheduler } from '../../src/timeouts/scheduler.js';
import { type BenchOptions, type BenchRow, percentile, type Sample } from '../lib.js';
import { runSagaOnEndpoint } from './memory.js';

const URL = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';
/** Due timeouts per run of `mongodb/timeouts` (FerretDB takes minutes for the default). */
const TIMEOUTS = Number(process.env.LONGHAUL_BENCH_TIMEOUTS ?? 10_000);

async function withDatabase<T>(run: (client: MongoClient, database: string) => Promise<T>): Promise<T> {
  const client = new MongoClient(URL, { serverSelectionTimeoutMS: 5000 });
  const database = `lh_bench_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  try {
    await client.connect();
    return await run(client, database);
  } finally {
    await client
      .db(database)
      .dropDatabase()
      .catch(() => undefined);
    await client.close();
  }
}

interface RawSaga {
  _id: string;
  sagaType: string;
  correlationKey: string;
  version: number;
  state: { steps: number };
  inbox: string[];
  outbox: Record<string, never>;
  updatedAt: Date;
}

async function rawRun(options: BenchOptions): Promise<Sample> {
  return withDatabase(async (client, database) => {
    const sagas = client.db(database).collection<RawSaga>('sagas');
    await sagas.createIndex({ sagaType: 1, correlationKey: 1 }, { unique: true });
    const latencies: number[] = [];
    let failures = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < options.n; i = next++) {
        const key = `s-${i}`;
        for (let step = 0; step < 3; step++) {
          const t0 = performance.now();
          const found = await sagas.findOne({ sagaType: 'BenchSaga', correlationKey: key });
          const messageId = randomUUID();
          if (!found) {
            await sagas.insertOne({
              _id: `BenchSaga/${key}`,
              sagaType: 'BenchSaga',
              correlationKey: key,
              version: 1,
              state: { steps: 0 },
              inbox: [messageId],
              outbox: {},
              updatedAt: new Date(),
            });
          } else {
            const result = await sagas.updateOne(
              { _id: found._id, version: found.version },
              {
                $set: {
                  version: found.version + 1,
                  state: { steps: found.state.steps + 1 },
                  inbox: [...found.inbox, messageId].slice(-100),
                  updatedAt: new Date(),
                },
              },
            );
            if (result.matchedCount !== 1) failures++;
          }
          latencies.push(performance.now() - t0);
        }
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const seconds = (performance.now() - t0) / 1000;
    return {
      messagesPerSecond: (3 * options.n) / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      extra: { sagas: options.n, seconds: Number(seconds.toFixed(2)) },
      invalid: failures > 0 ? `${failures} version-checked updates did not match` : undefined,
    };
  });
}

async function commitPathRun(options: BenchOptions): Promise<Sample> {
  return withDatabase((client, database) =>
    runSagaOnEndpoint(options, { sagaStore: new MongoSagaStore({ client, database, logger: silentLogger }) }),
  );
}

async function timeoutsRun(): Promise<Sample> {
  return withDatabase(async (client, database) => {
    const store = new MongoTimeoutStore({ client, database, logger: silentLogger });
    await store.init();
    const now = Date.now();
    const collection = client.db(database).collection(store.collectionName);
    for (let start = 0; start < TIMEOUTS; start += 1000) {
      // The store's own layout (see mongo-timeout-store.ts), loaded in bulk: scheduling is not timed.
      await collection.insertMany(
        Array.from({ length: Math.min(1000, TIMEOUTS - start) }, (_, j) => {
          const id = `bench-timeout-${start + j}`;
          return {
            _id: id as never,
            dueAt: new Date(now - 60_000 + start + j),
            destination: 'bench',
            message: { messageId: id, headers: { 'longhaul%2Etype': 'bench.Due' }, body: '{}' },
            sagaType: 'BenchSaga',
            sagaId: `s-${start + j}`,
            leaseOwner: null,
            leaseUntil: null,
          };
        }),
      );
    }
    const delivered = new Set<string>();
    let duplicates = 0;
    const scheduler = new TimeoutScheduler(
      store,
      async (t) => {
        if (delivered.has(t.id)) duplicates++;
        delivered.add(t.id);
      },
      systemClock,
      silentLogger,
      { pollIntervalMs: 1000, batchSize: 1000, leaseMs: 120_000 },
    );
    const t0 = performance.now();
    for (let idle = 0; delivered.size < TIMEOUTS && idle < 3;) {
      const { claimed } = await scheduler.runOnce();
      idle = claimed === 0 ? idle + 1 : 0;
    }
    const seconds = (performance.now() - t0) / 1000;
    const invalid =
      delivered.size !== TIMEOUTS || duplicates > 0
        ? `delivered ${delivered.size} of ${TIMEOUTS}, ${duplicates} twice`
        : undefined;
    return {
      messagesPerSecond: delivered.size / seconds,
      extra: { timeouts: TIMEOUTS, batch: 1000, seconds: Number(seconds.toFixed(2)) },
      invalid,
    };
  });
}

/** The MongoDB rows (see the file header). */
export function mongoRows(options: BenchOptions): BenchRow[] {
  return [
    {
      name: 'mongodb/raw',
      description:
        'driver alone: per message one read + one version-checked write (insert first), 3 per saga, messages/s',
      run: () => rawRun(options),
    },
    {
      name: 'mongodb/commit-path',
      description: 'Longhaul Endpoint, in-memory transport + MongoSagaStore: workload S messages/s',
      run: () => commitPathRun(options),
    },
    {
      name: 'mongodb/timeouts',
      description: `${TIMEOUTS} due timeouts claimed and delivered by one TimeoutScheduler (batch 1000): timeouts/s`,
      maxRounds: 1, // minutes per round on FerretDB
      run: () => timeoutsRun(),
    },
  ];
}
