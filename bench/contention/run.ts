/**
 * The contention workload on K worker processes: `keys` saga instances get `perKey` bumps each,
 * published in sequence order and interleaved across keys, onto one endpoint served by K child
 * processes (bench/contention/worker.ts), sharing one queue (`partitions: 0`) or N partitions.
 * Measures throughput (messages handled per second from the first publish until every instance
 * counted all its bumps), commit conflicts and handler reruns (runs beyond the messages, summed
 * over the workers), and checks the outcome: every bump counted exactly once, and (reported, not
 * asserted here) how many arrived out of sequence order.
 *
 * `npx tsx bench/contention/run.ts [--workers 1,2,3] [--partitions 0,6] [--keys 12] [--per-key 50]`
 */
import 'reflect-metadata';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { Endpoint, RabbitMqTransport, silentLogger } from '../../src/index.js';
import { MongoSagaStore } from '../../src/persistence/mongodb/index.js';
import { ChaosBroker } from '../../test/chaos/cluster.js';
import { Bump, type CounterState, SAGA_TYPE } from './scenario.js';

export interface ContentionOptions {
  workers: number;
  /** 0: one shared queue; N: a partitioned endpoint. */
  partitions: number;
  keys: number;
  perKey: number;
  /** Handler concurrency per worker (per partition it is always one at a time). @defaultValue 8 */
  concurrency?: number;
  mongoUrl?: string;
  rabbitUrl?: string;
  /** Gives up after this long. @defaultValue 180 s */
  limitMs?: number;
}

export interface ContentionResult {
  workers: number;
  partitions: number;
  messages: number;
  seconds: number;
  perSecond: number;
  conflicts: number;
  handlerRuns: number;
  reruns: number;
  /** Bumps counted per instance that differ from `perKey` (must be empty). */
  miscounted: Record<string, number>;
  /** Bumps that arrived out of sequence order, over all instances. */
  outOfOrder: number;
  /** Messages left in the run's queues after the workers stopped (must be 0). */
  leftInQueues: number;
}

interface Worker {
  child: ChildProcess;
  stats: Promise<{ runs: number; conflicts: number }>;
  /** The partitions the worker said it owns last. */
  owns: readonly number[];
}

const root = new URL('../../', import.meta.url).pathname;

function startWorker(env: Record<string, string>): Promise<Worker> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/contention/worker.ts'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  let ready: () => void = () => undefined;
  let gotStats: (stats: { runs: number; conflicts: number }) => void = () => undefined;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  const stats = new Promise<{ runs: number; conflicts: number }>((resolve) => (gotStats = resolve));
  let owns: readonly number[] = [];
  lines.on('line', (line) => {
    if (line === 'ready') ready();
    else if (line.startsWith('owns ')) owns = JSON.parse(line.slice(5)) as number[];
    else if (line.startsWith('stats ')) gotStats(JSON.parse(line.slice(6)));
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`contention worker ${env.LH_WORKER} exited with ${code}`))),
  );
  void exited.catch(() => undefined);
  return Promise.race([isReady, exited]).then(() => ({
    child,
    stats: Promise.race([stats, exited]),
    get owns() {
      return owns;
    },
  }));
}

async function until(what: string, limitMs: number, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`contention: gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function runContention(options: ContentionOptions): Promise<ContentionResult> {
  const tag = randomUUID().slice(0, 8);
  const mongoUrl = options.mongoUrl ?? process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';
  const broker = new ChaosBroker(`lh-ct-${tag}`, options.rabbitUrl ?? process.env.RABBITMQ_URL);
  const database = `lh_ct_${tag}`;
  const limitMs = options.limitMs ?? 180_000;
  const keys = Array.from({ length: options.keys }, (_, i) => `key-${i}`);
  const messages = options.keys * options.perKey;
  await broker.create();
  const workers: Worker[] = [];
  const store = new MongoSagaStore({ url: mongoUrl, database, logger: silentLogger });
  const driver = new Endpoint({
    name: 'ct-driver',
    transport: new RabbitMqTransport({ url: broker.url, prefix: 'ct.', logger: silentLogger }),
    logger: silentLogger,
  });
  try {
    for (let i = 0; i < options.workers; i++) {
      workers.push(
        await startWorker({
          LH_RABBITMQ_URL: broker.url,
          LH_MONGODB_URL: mongoUrl,
          LH_DATABASE: database,
          LH_PREFIX: 'ct.',
          LH_ENDPOINT: 'counters',
          LH_WORKER: `w${i + 1}`,
          LH_PARTITIONS: String(options.partitions),
          LH_CONCURRENCY: String(options.concurrency ?? 8),
        }),
      );
    }
    if (options.partitions > 0) {
      // Measure the steady state: every partition owned, each worker holding its fair share.
      const share = Math.floor(options.partitions / options.workers);
      await until('the workers to share the partitions', limitMs, async () => {
        const owned = new Set(workers.flatMap((w) => w.owns));
        return owned.size === options.partitions && workers.every((w) => w.owns.length >= share);
      });
    }
    await store.init();
    await driver.start();
    const counted = async (): Promise<number> => {
      let total = 0;
      for (const key of keys) {
        const record = await store.findByCorrelation(SAGA_TYPE, key);
        total += (record?.state as CounterState | null)?.count ?? 0;
      }
      return total;
    };
    const started = performance.now();
    for (let seq = 1; seq <= options.perKey; seq++) {
      await Promise.all(keys.map((key) => driver.bus.publish(new Bump(key, seq))));
    }
    await until(`${messages} bumps to be counted`, limitMs, async () => (await counted()) >= messages);
    const seconds = (performance.now() - started) / 1000;
    for (const { child } of workers) child.kill('SIGTERM');
    const stats = await Promise.all(workers.map((w) => w.stats));
    workers.length = 0;
    const miscounted: Record<string, number> = {};
    let outOfOrder = 0;
    for (const key of keys) {
      const state = (await store.findByCorrelation(SAGA_TYPE, key))?.state as CounterState | undefined;
      if (state?.count !== options.perKey) miscounted[key] = state?.count ?? 0;
      outOfOrder += state?.outOfOrder ?? 0;
    }
    const depths = await broker.queueDepths();
    const handlerRuns = stats.reduce((sum, s) => sum + s.runs, 0);
    return {
      workers: options.workers,
      partitions: options.partitions,
      messages,
      seconds,
      perSecond: messages / seconds,
      conflicts: stats.reduce((sum, s) => sum + s.conflicts, 0),
      handlerRuns,
      reruns: handlerRuns - messages,
      miscounted,
      outOfOrder,
      leftInQueues: Object.values(depths).reduce((sum, n) => sum + n, 0),
    };
  } finally {
    for (const { child } of workers) child.kill('SIGKILL');
    await driver.stop().catch(() => undefined);
    await driver.transport.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    const client = new MongoClient(mongoUrl);
    await client
      .db(database)
      .dropDatabase()
      .catch(() => undefined);
    await client.close();
    await broker.delete().catch(() => undefined);
  }
}

function table(results: readonly ContentionResult[]): string {
  const lines = [
    '| workers | partitions | messages | msg/s | conflicts | handler reruns | out of order | miscounted | left in queues |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.workers} | ${r.partitions || 'none (one queue)'} | ${r.messages} | ${r.perSecond.toFixed(0)} | ${r.conflicts} | ${r.reruns} | ${r.outOfOrder} | ${Object.keys(r.miscounted).length} | ${r.leftInQueues} |`,
    );
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      workers: { type: 'string', default: '3' },
      partitions: { type: 'string', default: '0,6' },
      keys: { type: 'string', default: '12' },
      'per-key': { type: 'string', default: '50' },
    },
  });
  const list = (s: string): number[] => s.split(',').map(Number);
  const results: ContentionResult[] = [];
  for (const partitions of list(values.partitions)) {
    for (const workers of list(values.workers)) {
      const load = loadavg()[0]!.toFixed(2);
      const result = await runContention({
        workers,
        partitions,
        keys: Number(values.keys),
        perKey: Number(values['per-key']),
      });
      results.push(result);
      console.log(`load ${load}:`, JSON.stringify(result));
    }
  }
  console.log(table(results));
}
