/**
 * `npm run bench [-- --n 1500 --rounds 3 --concurrency 8 --queue-type both --quick --only S/]`
 *
 * Runs every row the same number of rounds, interleaved (A B A B …) so that a noisy neighbour hurts
 * all rows alike, and prints the median and min–max of each, the raw limits combined from the raw
 * rows, ratios between rows measured in this same run, and the targets met or missed. Writes the
 * figures as JSON under bench/results/. Rows are described in `rows/*.ts`; workload S in
 * `workload-s.ts`, the @node-ts/bus peer in `peers/nodets.ts`.
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { type BenchOptions, type BenchRow, median, type Sample } from './lib.js';
import { contentionRowName, contentionRows } from './rows/contention.js';
import { dedupeRows } from './rows/dedupe.js';
import { rabbitRows } from './rows/rabbitmq.js';
import { sagaRows } from './rows/saga.js';
import { scaleRows } from './rows/scale.js';
import { telemetryRows } from './rows/telemetry.js';
import { timeoutRows } from './rows/timeouts.js';
import { workflowRows } from './rows/workflows.js';
import { workflowStepRows } from './workflow-steps.js';
import { historyRatios, workflowHistoryRows } from './workflow-history.js';

const USAGE = `usage: npm run bench -- [options]
  --n N               sagas per run of workload S (default 1500; --quick 30)
  --store-n N         sagas per run on FerretDB (default n/5)
  --rounds R          rounds, interleaved (default 3; --quick 1)
  --concurrency C     handler concurrency = prefetch (default 8)
  --queue-type T      classic | quorum | both (default both)
  --timeouts N        timeouts of workload T (default 10000; --quick 300 in memory, 100 on FerretDB)
  --only PREFIX       only rows whose name starts with PREFIX (NAME$: exactly NAME; several: A,B)
  --quick             a small smoke run`;

const { values } = parseArgs({
  options: {
    n: { type: 'string' },
    'store-n': { type: 'string' },
    rounds: { type: 'string' },
    concurrency: { type: 'string', default: '8' },
    'queue-type': { type: 'string', default: 'both' },
    timeouts: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const quick = values.quick ?? false;
const queueTypeArg = values['queue-type'] ?? 'both';
if (!['classic', 'quorum', 'both'].includes(queueTypeArg)) {
  console.error(USAGE);
  process.exit(2);
}
const queueTypes = (queueTypeArg === 'both' ? ['classic', 'quorum'] : [queueTypeArg]) as (
  'classic' | 'quorum'
)[];
const n = Number(values.n ?? (quick ? 30 : 1500));
const storeN = Number(values['store-n'] ?? Math.max(10, Math.round(n / 5)));
const options: BenchOptions = {
  n,
  concurrency: Number(values.concurrency),
  queueType: queueTypes[0]!,
};
const rounds = Number(values.rounds ?? (quick ? 1 : 3));
const timeouts = values.timeouts === undefined ? undefined : Number(values.timeouts);

const rows: BenchRow[] = [
  ...sagaRows(options, { n, storeN, shippedN: quick ? Math.min(n, 10) : 60, queueTypes }),
  ...rabbitRows({ ...options, n: 3 * n, queueType: 'classic' }),
  ...telemetryRows(n, options.concurrency),
  ...workflowRows(options),
  ...workflowStepRows({ memory: quick ? 30 : 300, services: quick ? 10 : 60 }),
  // --quick: in memory only (on FerretDB one step at 5,000 history events takes seconds).
  ...workflowHistoryRows({ memory: quick ? 10 : 100, services: quick ? 0 : 6 }),
  ...timeoutRows({
    memory: timeouts ?? (quick ? 300 : 10_000),
    ferretdb: timeouts ?? (quick ? 100 : 10_000),
  }),
  ...dedupeRows({ memory: quick ? 200 : 2000, ferretdb: quick ? 30 : 150 }),
  ...scaleRows(options.concurrency, {
    memory: [1000, 100_000],
    ferretdb: quick ? [100, 300] : [1000, 10_000],
    n,
    storeN,
  }),
  // --quick: none (each row starts worker processes).
  ...(quick ? [] : contentionRows({ keys: 12, perKey: 50, partitions: 6 })),
].filter((row) => {
  const only = values.only;
  if (!only) return true;
  return only
    .split(',')
    .some((one) => (one.endsWith('$') ? row.name === one.slice(0, -1) : row.name.startsWith(one)));
});

const samples = new Map<string, Sample[]>(rows.map((r) => [r.name, []]));
const started = Date.now();
if (!quick) {
  console.log('warming up (not recorded)…');
  for (const row of rows)
    if (row.name === 'S/longhaul/memory' || row.name === 'W/longhaul/memory') await row.run();
}
console.log(
  `bench: n=${n} store-n=${storeN} concurrency=${options.concurrency} queue types=${queueTypes.join(',')} rounds=${rounds} (cpus: ${cpus().length})`,
);
for (let round = 1; round <= rounds; round++) {
  for (const row of rows) {
    if (row.maxRounds !== undefined && round > row.maxRounds) continue;
    let sample: Sample;
    try {
      sample = await row.run();
    } catch (error) {
      sample = { messagesPerSecond: Number.NaN, invalid: `failed: ${(error as Error).message}` };
    }
    samples.get(row.name)!.push(sample);
    console.log(
      `  round ${round} ${row.name}: ${sample.messagesPerSecond.toFixed(0)} /s${sample.invalid ? ` INVALID: ${sample.invalid}` : ''}`,
    );
  }
}

const fmt = (v: number | undefined, digits = 0): string =>
  v === undefined || Number.isNaN(v)
    ? '-'
    : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const summary = rows.map((row) => {
  const list = samples.get(row.name)!;
  const rates = list.map((s) => s.messagesPerSecond);
  return {
    name: row.name,
    description: row.description,
    rounds: list.length,
    medianPerSecond: median(rates),
    minPerSecond: Math.min(...rates),
    maxPerSecond: Math.max(...rates),
    p50Ms: median(list.map((s) => s.p50Ms ?? Number.NaN)),
    p99Ms: median(list.map((s) => s.p99Ms ?? Number.NaN)),
    invalid: list.find((s) => s.invalid)?.invalid,
    extra: list.at(-1)?.extra,
  };
});
const byName = new Map(summary.map((s) => [s.name, s]));
/** The median of a valid row, or undefined (missing or invalid). */
const rate = (name: string): number | undefined => {
  const s = byName.get(name);
  return s && !s.invalid && Number.isFinite(s.medianPerSecond) ? s.medianPerSecond : undefined;
};

console.log('\n| row | per second (median) | min–max | p50 ms | p99 ms | rounds | details | what |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |');
for (const s of summary) {
  const shown = s.invalid ? `INVALID (${s.invalid})` : fmt(s.medianPerSecond);
  const details = Object.entries(s.extra ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  console.log(
    `| ${s.name} | ${shown} | ${fmt(s.minPerSecond)}–${fmt(s.maxPerSecond)} | ${fmt(s.p50Ms, 2)} | ${fmt(s.p99Ms, 2)} | ${s.rounds} | ${details} | ${s.description} |`,
  );
}

// Raw limits: the broker alone, and broker + store combined as sequential costs per message:
// a message costs 1/broker + 1/store seconds of the pipeline at best, so the combined rate is
// 1 / (1/broker + 1/store) (the store and the broker work serially for one message; with them
// perfectly overlapped the bound would instead be min(broker, store), an upper bound).
const store = rate('S/raw/store-ferretdb');
const limits: { name: string; value: number | undefined; how: string }[] = [];
for (const qt of queueTypes) {
  const broker = rate(`S/raw/broker-${qt}`);
  limits.push({ name: `limit/broker-${qt}`, value: broker, how: `S/raw/broker-${qt}` });
  limits.push({
    name: `limit/broker-${qt}+ferretdb`,
    value: broker !== undefined && store !== undefined ? 1 / (1 / broker + 1 / store) : undefined,
    how: `1 / (1/S/raw/broker-${qt} + 1/S/raw/store-ferretdb)`,
  });
}
limits.push({ name: 'limit/ferretdb', value: store, how: 'S/raw/store-ferretdb' });
const limit = (name: string): number | undefined => limits.find((l) => l.name === name)?.value;
console.log('\n| raw limit (messages/s, workload S) | value | how |\n| --- | ---: | --- |');
for (const l of limits) console.log(`| ${l.name} | ${fmt(l.value)} | ${l.how} |`);

interface Ratio {
  ratio: string;
  value: number | undefined;
}
const ratios: Ratio[] = [];
const ratio = (label: string, a: number | undefined, b: number | undefined): void => {
  ratios.push({ ratio: label, value: a !== undefined && b !== undefined ? a / b : undefined });
};
for (const qt of queueTypes) {
  ratio(
    `S/longhaul/rabbitmq-${qt}+memory ÷ limit/broker-${qt}`,
    rate(`S/longhaul/rabbitmq-${qt}+memory`),
    limit(`limit/broker-${qt}`),
  );
  ratio(
    `S/longhaul/rabbitmq-${qt}+ferretdb ÷ limit/broker-${qt}+ferretdb`,
    rate(`S/longhaul/rabbitmq-${qt}+ferretdb`),
    limit(`limit/broker-${qt}+ferretdb`),
  );
}
ratio('S/longhaul/memory+ferretdb ÷ limit/ferretdb', rate('S/longhaul/memory+ferretdb'), store);
ratio(
  'S/longhaul/memory+otel-sdk ÷ S/longhaul/memory',
  rate('S/longhaul/memory+otel-sdk'),
  rate('S/longhaul/memory'),
);
ratio(
  'rabbitmq/longhaul-transport ÷ limit/broker-classic',
  rate('rabbitmq/longhaul-transport'),
  limit('limit/broker-classic'),
);
for (const qt of queueTypes) {
  for (const storeKind of ['memory', 'ferretdb']) {
    for (const variant of ['shipped', 'nodelay']) {
      ratio(
        `S/longhaul/rabbitmq-${qt}+${storeKind} ÷ S/nodets/${variant}+${storeKind}${qt === 'quorum' ? ' (node-ts: classic)' : ''}`,
        rate(`S/longhaul/rabbitmq-${qt}+${storeKind}`),
        rate(`S/nodets/${variant}+${storeKind}`),
      );
    }
  }
}
ratio('scale/memory-100k ÷ scale/memory-1k', rate('scale/memory-100k'), rate('scale/memory-1k'));
// Commit cost (time per message) with a full dedupe window over an empty one: rates inverted.
for (const store of ['memory', 'ferretdb']) {
  ratio(
    `commit cost: dedupe/${store}-1000 ÷ dedupe/${store}-0`,
    rate(`dedupe/${store}-0`),
    rate(`dedupe/${store}-1000`),
  );
  ratio(
    `commit cost: dedupe/${store}-417 ÷ dedupe/${store}-0`,
    rate(`dedupe/${store}-0`),
    rate(`dedupe/${store}-417`),
  );
}
ratio(
  'scale/ferretdb-large ÷ scale/ferretdb-small',
  rate('scale/ferretdb-large'),
  rate('scale/ferretdb-small'),
);
// Cost per workflow step (time per step) at 1,000 and 5,000 history events over 10, cache on and off.
ratio(
  `${contentionRowName(3, 6)} ÷ ${contentionRowName(3, 0)}`,
  rate(contentionRowName(3, 6)),
  rate(contentionRowName(3, 0)),
);
for (const workers of [2, 3]) {
  ratio(
    `${contentionRowName(workers, 6)} ÷ ${contentionRowName(1, 6)}`,
    rate(contentionRowName(workers, 6)),
    rate(contentionRowName(1, 6)),
  );
}
for (const r of historyRatios(rate)) ratios.push({ ratio: r.ratio, value: r.value });
const shownRatios = ratios.filter((r) => r.value !== undefined);
if (shownRatios.length > 0) {
  console.log('\n| ratio (medians) | value |\n| --- | ---: |');
  for (const r of shownRatios) {
    console.log(
      `| ${r.ratio} | ${r.value! >= 2 ? `${r.value!.toFixed(1)}×` : `${(r.value! * 100).toFixed(0)} %`} |`,
    );
  }
}

// Targets: reported, not asserted.
const ratioOf = (label: string): number | undefined => ratios.find((r) => r.ratio === label)?.value;
const targets: { target: string; measured: number | undefined; met: boolean | undefined; shown: string }[] =
  [];
/** `atMost`: the target is met at or below the goal (a count to keep down), else at or above it. */
const target = (
  label: string,
  measured: number | undefined,
  goal: number,
  shown: (v: number) => string,
  atMost = false,
) =>
  targets.push({
    target: label,
    measured,
    met: measured === undefined ? undefined : atMost ? measured <= goal : measured >= goal,
    shown: measured === undefined ? 'not measured' : shown(measured),
  });
const pct = (v: number): string => `${(v * 100).toFixed(0)} %`;
target(
  'Longhaul on RabbitMQ (classic, in-memory store) ≥ 70 % of the raw broker limit',
  ratioOf('S/longhaul/rabbitmq-classic+memory ÷ limit/broker-classic'),
  0.7,
  pct,
);
target(
  'Longhaul on RabbitMQ (quorum, in-memory store) ≥ 70 % of the raw broker limit',
  ratioOf('S/longhaul/rabbitmq-quorum+memory ÷ limit/broker-quorum'),
  0.7,
  pct,
);
for (const storeKind of ['memory', 'ferretdb']) {
  target(
    `Longhaul ≥ 3× @node-ts/bus with noDelay (RabbitMQ classic, ${storeKind} store)`,
    ratioOf(`S/longhaul/rabbitmq-classic+${storeKind} ÷ S/nodets/nodelay+${storeKind}`),
    3,
    (v) => `${v.toFixed(2)}×`,
  );
}
target(
  'Longhaul in memory ≥ 50,000 saga messages/s on one core',
  rate('S/longhaul/memory'),
  50_000,
  (v) => `${fmt(v)} /s`,
);
target(
  'handling at 100,000 stored within 10 % of 1,000 (memory)',
  ratioOf('scale/memory-100k ÷ scale/memory-1k'),
  0.9,
  pct,
);
for (const where of ['memory', 'rabbitmq+ferretdb']) {
  // Steps/s at 5,000 events over steps/s at 10: at least 1/2 means the cost per step is within 2×.
  const at = (events: number) => rate(`WH/${where}/cache-${events}`);
  const small = at(10);
  const large = at(5000);
  target(
    `workflow cost per step at 5,000 history events within 2× of 10 (run cache on, ${where})`,
    small !== undefined && large !== undefined ? large / small : undefined,
    0.5,
    (v) => `${(1 / v).toFixed(2)}×`,
  );
}
{
  const row = byName.get(contentionRowName(3, 6));
  const conflicts = row && !row.invalid ? row.extra?.conflicts : undefined;
  target(
    'contention on 3 worker processes with 6 partitions: 0 commit conflicts',
    typeof conflicts === 'number' ? conflicts : undefined,
    0,
    (v) => `${v} conflicts`,
    true,
  );
}
console.log('\n| target (reported, not asserted) | measured | |\n| --- | ---: | --- |');
for (const t of targets) {
  console.log(`| ${t.target} | ${t.shown} | ${t.met === undefined ? '-' : t.met ? 'met' : '**MISSED**'} |`);
}
const invalid = summary.filter((s) => s.invalid);
if (invalid.length > 0) {
  console.log(
    `\nINVALID rows (lost or duplicated messages, or failed): ${invalid.map((s) => s.name).join(', ')}`,
  );
}
console.log(
  '\n@node-ts/bus rows: its RabbitMQ transport publishes non-persistent messages without publisher confirms, and it has no stored outbox or inbox (sends are held in memory until the handler returns; a redelivery runs again). Quorum queues: not supported by its transport (classic only).',
);
console.log(`\ntotal ${((Date.now() - started) / 1000).toFixed(0)} s`);

mkdirSync('bench/results', { recursive: true });
const file = `bench/results/bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(
  file,
  JSON.stringify(
    {
      options: { ...options, storeN, queueTypes },
      rounds,
      summary,
      limits,
      ratios,
      targets,
      samples: Object.fromEntries(samples),
    },
    null,
    2,
  ),
);
console.log(`written ${file}`);
// Clients some libraries leave open (the peer's debug timers, driver pools) must not keep us alive.
process.exit(0);
