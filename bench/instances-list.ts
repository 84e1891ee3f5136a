/**
 * List and search timings of the operations client with many stored instances (issue 15).
 * Stores `--n` instances (default 100,000: 80% sagas of four types, 20% workflows; labels
 * `customer` (1,000 values), `region` (5); 1% with an outbox entry pending for two hours) in a
 * database of their own, then times each query `--rounds` times and prints the median and the
 * min-max in ms, the matches, the server's explain summary of the main queries and the load
 * average. Run: `npx tsx bench/instances-list.ts [--n 100000] [--rounds 5]
 * [--keep]` with MONGODB_URL set (the test store: FerretDB). `--keep` leaves the database for the
 * next run (which then skips the load). Standalone on purpose (not a row of run.ts).
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import {
  type InstanceQuery,
  MongoSagaStore,
  OperationsClient,
  type SagaRecord,
  silentLogger,
  WORKFLOW_SAGA,
} from '../src/index.js';
import { type ConsoleServer, startConsole, storeHealth } from '../src/console/index.js';
import {
  documentId,
  encodeEntry,
  encodeLabels,
  encodeMutable,
  labelTerms,
  outboxKey,
} from '../src/persistence/mongodb/saga-document.js';
import { scanFields } from '../src/persistence/mongodb/scan-terms.js';
import { sagaInstanceId } from '../src/util/ids.js';
import { median } from './lib.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '5' },
    database: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'load-only': { type: 'boolean', default: false },
    only: { type: 'string' },
    'pg-db': { type: 'string' },
    'stats-pause': { type: 'string', default: '1100' },
  },
});
const n = Number(values.n);
const rounds = Number(values.rounds);
const url = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';
const database = values.database ?? `lh_bench_instances_${n}`;
const SAGA_TYPES = ['bench.Order', 'bench.Shipment', 'bench.Invoice', 'bench.Refund'];
const REGIONS = ['eu', 'us', 'apac', 'latam', 'africa'];
const WF_STATUSES = [
  'running',
  'running',
  'completed',
  'completed',
  'completed',
  'failed',
  'parked',
  'terminated',
];

function recordOf(i: number, now: number): { record: Omit<SagaRecord, 'outbox'>; outboxAt?: Date } {
  const createdAt = new Date(now - (n - i) * 1000);
  const labels = { customer: `c-${i % 1000}`, region: REGIONS[i % 5] as string };
  const workflow = i % 5 === 4;
  const key = `k-${i}`;
  if (workflow) {
    const status = WF_STATUSES[i % WF_STATUSES.length] as string;
    const type = `bench.Flow${i % 3}`;
    const state = {
      type,
      instanceId: key,
      generation: 1,
      input: { i },
      status,
      history: [{ e: 'started', at: createdAt, generation: 1 }],
      createdAt,
    };
    return {
      record: {
        sagaType: WORKFLOW_SAGA,
        id: sagaInstanceId(WORKFLOW_SAGA, key),
        correlationKey: key,
        version: 2,
        status: 'active',
        state,
        inbox: [{ id: `m-${i}`, at: createdAt }],
        timeouts: [],
        createdAt,
        updatedAt: createdAt,
        labels: { ...labels, workflowType: type, status },
      },
    };
  }
  const sagaType = SAGA_TYPES[i % 4] as string;
  return {
    record: {
      sagaType,
      id: sagaInstanceId(sagaType, key),
      correlationKey: key,
      version: 3,
      status: i % 10 < 7 ? 'active' : 'completed',
      state: i % 10 < 7 ? { total: i % 997, items: ['a', 'b'] } : null,
      inbox: [{ id: `m-${i}`, at: createdAt }],
      timeouts: [],
      createdAt,
      updatedAt: new Date(createdAt.getTime() + 500),
      labels,
    },
    ...(i % 100 === 7 ? { outboxAt: new Date(now - 2 * 3600_000) } : {}),
  };
}

async function load(client: MongoClient): Promise<void> {
  const collection = client.db(database).collection('longhaul_sagas');
  const existing = await collection.estimatedDocumentCount();
  if (existing >= n) {
    console.log(`reusing ${existing} stored instances in ${database}`);
    return;
  }
  await collection.deleteMany({});
  const now = Date.now();
  const started = performance.now();
  for (let from = 0; from < n; from += 1000) {
    const docs = [];
    for (let i = from; i < Math.min(n, from + 1000); i++) {
      const { record, outboxAt } = recordOf(i, now);
      const entryId = `out-${i}`;
      docs.push({
        _id: documentId(record.sagaType, record.id),
        sagaType: record.sagaType,
        id: record.id,
        correlationKey: record.correlationKey,
        ...encodeMutable(record),
        createdAt: record.createdAt,
        labels: encodeLabels(record.labels ?? {}),
        labelTerms: labelTerms(record.sagaType, record.labels ?? {}),
        outbox: outboxAt
          ? {
              [outboxKey(entryId)]: encodeEntry(
                {
                  id: entryId,
                  operation: 'publish',
                  message: { messageId: entryId, headers: { 'longhaul.type': 'bench.Thing' }, body: '{}' },
                  sourceMessageId: `m-${i}`,
                  createdAt: outboxAt,
                },
                record.version,
                0,
              ),
            }
          : {},
        ...(outboxAt ? { outboxSince: outboxAt, outboxOldest: outboxAt } : {}),
        ...scanFields({ ...record, _id: documentId(record.sagaType, record.id), labels: record.labels }),
      });
    }
    await collection.insertMany(docs as never[], { ordered: false });
  }
  console.log(`stored ${n} instances in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function time(
  run: () => Promise<unknown>,
): Promise<{ median: number; min: number; max: number; result: unknown }> {
  const samples: number[] = [];
  let result: unknown;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    result = await run();
    samples.push(performance.now() - t0);
  }
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), result };
}

/**
 * Rows PostgreSQL read for the bench's collection so far (FerretDB decodes each one it returns):
 * with `--pg-db <database>` (the test store's PostgreSQL database, e.g. ferretdb_27100), else
 * undefined. Statistics reach pg_stat_user_tables late (a busy backend flushes them at most each
 * second, an idle one within 10 s), hence the pause (`--stats-pause <ms>`, 1100; 11000 for exact
 * counts, with `--rounds 1`).
 */
async function rowsRead(): Promise<number | undefined> {
  if (values['pg-db'] === undefined) return undefined;
  await new Promise((resolve) => setTimeout(resolve, Number(values['stats-pause'])));
  try {
    const out = execFileSync('psql', [
      '-h',
      '127.0.0.1',
      '-U',
      'postgres',
      '-d',
      values['pg-db'],
      '-At',
      '-c',
      `SELECT coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0) FROM pg_stat_user_tables WHERE schemaname = '${database}' AND relname LIKE 'longhaul\\_sagas\\_%'`,
    ]).toString();
    return Number(out.trim());
  } catch (error) {
    console.log(`(rows read: psql failed: ${String((error as Error).message).split('\n')[0]})`);
    return undefined;
  }
}

const client = new MongoClient(url);
await client.connect();
let server: ConsoleServer | undefined;
try {
  await load(client);
  if (values['load-only']) process.exit(0);
  const store = new MongoSagaStore({ client, database, logger: silentLogger });
  const t0 = performance.now();
  await store.init();
  console.log(
    `store.init (indexes, search-field backfill check) ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const ops = new OperationsClient({ store });
  const firstPage = await ops.instances.list({}, { limit: 50 });
  const cases: [string, () => Promise<unknown>, (r: unknown) => string][] = [];
  const items = (r: unknown): string => {
    const page = r as { items: unknown[]; next?: string };
    return `${page.items.length} items${page.next ? ' (more)' : ''}`;
  };
  const list = (name: string, query: InstanceQuery, limit = 50) =>
    cases.push([name, () => ops.instances.list(query, { limit }), items]);
  list('list, no filter, first page of 50', {});
  cases.push([
    'list, no filter, second page (cursor)',
    () => ops.instances.list({}, { limit: 50, cursor: firstPage.next }),
    items,
  ]);
  list('list label customer=c-42 (100 match)', { labels: { customer: 'c-42' } }, 200);
  list('list label region=eu (20,000 match)', { labels: { region: 'eu' } });
  list('list kind=workflow status=running', { kind: 'workflow', status: 'running' });
  list('list status=failed (2,500 match)', { status: 'failed' });
  list('list status=parked (2,500 match)', { status: 'parked' });
  list('list kind=workflow status=parked, type bench.Flow1', {
    kind: 'workflow',
    status: 'parked',
    type: 'bench.Flow1',
  });
  list('list type=bench.Order status=active region=eu', {
    type: 'bench.Order',
    status: 'active',
    labels: { region: 'eu' },
  });
  list('list by id (workflow k-44)', { id: 'k-44' });
  list('list created in the last 10 min (600 match)', { createdFrom: new Date(Date.now() - 600_000) });
  list('list outbox pending > 1h (800 match)', { outboxPendingLongerThan: '1h' });
  cases.push([
    'show one saga by correlation value',
    () => ops.instances.show({ kind: 'saga', type: 'bench.Order', id: 'k-40' }),
    (r) => ((r as { id?: string } | undefined)?.id ? 'found' : 'missing'),
  ]);
  // The console's pages, served from a snapshot of the counts taken once before.
  const wanted = (name: string): boolean => values.only === undefined || new RegExp(values.only).test(name);
  server = await startConsole({
    operations: ops,
    health: storeHealth({ sagas: store }),
    port: 0,
    readings: { minAgeMs: 3_600_000, waitMs: 600_000 },
  });
  const console0 = performance.now();
  if (wanted('console')) await fetch(`${server.url}api/overview`);
  const snapshotMs = performance.now() - console0;
  const page = (name: string, path: string) =>
    cases.push([
      name,
      async () => {
        const res = await fetch(`${server?.url ?? ''}${path.slice(1)}`);
        return { status: res.status, bytes: (await res.text()).length };
      },
      (r) => `HTTP ${(r as { status: number }).status}, ${(r as { bytes: number }).bytes} bytes`,
    ]);
  page('console GET / (overview, snapshot)', '/');
  page('console GET /instances (first page)', '/instances');
  page('console GET /instances?status=failed', '/instances?status=failed');
  page('console GET /instances?id=k-40', '/instances?id=k-40');
  page('console GET /instances?label=customer%3Dc-42', '/instances?label=customer%3Dc-42');
  cases.push([
    "counts, no filter (the snapshot's work)",
    () => ops.instances.counts(),
    (r) => `${(r as { total: number }).total} total`,
  ]);
  console.log(
    `\n${n} instances on ${url.replace(/\/\/[^@]*@/, '//')} (database ${database}); ${rounds} rounds`,
  );
  console.log(`console: first overview (taking the counts snapshot) ${(snapshotMs / 1000).toFixed(1)} s`);
  console.log(
    `load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (const [name, run, describe] of cases) {
    if (!wanted(name)) continue;
    const before = await rowsRead();
    const t = await time(run);
    const after = await rowsRead();
    const rows =
      before !== undefined && after !== undefined
        ? `  rows read ${Math.round((after - before) / rounds)}`
        : '';
    console.log(
      `${name.padEnd(52)} ${t.median.toFixed(1).padStart(8)} ms  (${t.min.toFixed(1)}-${t.max.toFixed(1)})  ${describe(t.result)}${rows}`,
    );
  }
  console.log(
    `load average after:  ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  await server?.close();
  if (!values.keep) await client.db(database).dropDatabase();
  await client.close();
}
