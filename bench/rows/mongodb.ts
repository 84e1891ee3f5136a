/**
 * The raw store limit, against MONGODB_URL (default: the gated FerretDB test store on 27018; start
 * it with `scripts/test-store.sh start`): the driver alone doing what one saga message minimally
 * costs — one read by correlation key, then one version-checked write (an insert for the first
 * message) — 3 messages per saga, `concurrency` sagas at a time. Each run uses its own database and
 * drops it. The rows using it are in `saga.ts`; the timeout rows in `timeouts.ts`.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { MongoClient } from 'mongodb';
import { type BenchOptions, percentile, type Sample } from '../lib.js';

const URL = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';

export async function withDatabase<T>(
  run: (client: MongoClient, database: string) => Promise<T>,
): Promise<T> {
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

export async function rawRun(options: BenchOptions): Promise<Sample> {
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
