/**
 * `npm run bench [-- --n 2000 --rounds 3 --concurrency 8 --queue-type classic --quick --only memory]`
 *
 * Runs every row the same number of rounds, interleaved (A B A B …) so that a noisy neighbour hurts
 * all rows alike, and prints the median and min–max of each, with ratios between rows measured in
 * this same run. Writes the figures as JSON under bench/results/.
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type BenchOptions, type BenchRow, median, type Sample } from './lib.js';
import { memoryRows } from './rows/memory.js';
import { workflowRows } from './rows/workflows.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string' },
    rounds: { type: 'string' },
    concurrency: { type: 'string', default: '8' },
    'queue-type': { type: 'string', default: 'classic' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(
    'usage: npm run bench -- [--n N] [--rounds R] [--concurrency C] [--queue-type classic|quorum] [--quick] [--only prefix]',
  );
  process.exit(0);
}
const quick = values.quick ?? false;
const options: BenchOptions = {
  n: Number(values.n ?? (quick ? 300 : 3000)),
  concurrency: Number(values.concurrency),
  queueType: values['queue-type'] === 'quorum' ? 'quorum' : 'classic',
};
const rounds = Number(values.rounds ?? (quick ? 1 : 3));

async function optionalRows(module: string, factory: string): Promise<BenchRow[]> {
  try {
    const loaded = (await import(module)) as Record<
      string,
      (o: BenchOptions) => BenchRow[] | Promise<BenchRow[]>
    >;
    return await (loaded[factory]?.(options) ?? []);
  } catch (error) {
    console.error(`(rows from ${module} unavailable: ${(error as Error).message})`);
    return [];
  }
}

const rows: BenchRow[] = [
  ...memoryRows(options),
  ...workflowRows(options),
  ...(await optionalRows('./rows/rabbitmq.js', 'rabbitRows')),
  ...(await optionalRows('./rows/mongodb.js', 'mongoRows')),
].filter((row) => !values.only || row.name.startsWith(values.only));

const samples = new Map<string, Sample[]>(rows.map((r) => [r.name, []]));
if (!quick) {
  console.log('warming up (not recorded)…');
  for (const row of rows) if (row.name.startsWith('memory/')) await row.run();
}
console.log(
  `bench: n=${options.n} concurrency=${options.concurrency} queue=${options.queueType} rounds=${rounds}`,
);
for (let round = 1; round <= rounds; round++) {
  for (const row of rows) {
    if (row.maxRounds !== undefined && round > row.maxRounds) continue;
    const sample = await row.run();
    samples.get(row.name)!.push(sample);
    console.log(
      `  round ${round} ${row.name}: ${sample.messagesPerSecond.toFixed(0)} msg/s${sample.invalid ? ` INVALID: ${sample.invalid}` : ''}`,
    );
  }
}

const fmt = (v: number | undefined, digits = 0): string =>
  v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits);
const summary = rows.map((row) => {
  const list = samples.get(row.name)!;
  const rates = list.map((s) => s.messagesPerSecond);
  return {
    name: row.name,
    description: row.description,
    medianPerSecond: median(rates),
    minPerSecond: Math.min(...rates),
    maxPerSecond: Math.max(...rates),
    p50Ms: median(list.map((s) => s.p50Ms ?? Number.NaN)),
    p99Ms: median(list.map((s) => s.p99Ms ?? Number.NaN)),
    invalid: list.find((s) => s.invalid)?.invalid,
    extra: list.at(-1)?.extra,
  };
});

console.log('\n| row | per second (median) | min–max | p50 ms | p99 ms | details | what |');
console.log('| --- | ---: | ---: | ---: | ---: | --- | --- |');
for (const s of summary) {
  const rate = s.invalid ? `INVALID (${s.invalid})` : fmt(s.medianPerSecond);
  const details = Object.entries(s.extra ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  console.log(
    `| ${s.name} | ${rate} | ${fmt(s.minPerSecond)}–${fmt(s.maxPerSecond)} | ${fmt(s.p50Ms, 2)} | ${fmt(s.p99Ms, 2)} | ${details} | ${s.description} |`,
  );
}

const ratioPairs: [string, string][] = [
  ['rabbitmq/longhaul-transport', 'rabbitmq/raw'],
  ['mongodb/commit-path', 'mongodb/raw'],
];
const byName = new Map(summary.map((s) => [s.name, s]));
const ratios = ratioPairs
  .filter(([a, b]) => byName.has(a) && byName.has(b))
  .map(([a, b]) => ({
    ratio: `${a} ÷ ${b}`,
    value: byName.get(a)!.medianPerSecond / byName.get(b)!.medianPerSecond,
  }));
if (ratios.length > 0) {
  console.log('\n| ratio | value |\n| --- | ---: |');
  for (const r of ratios) console.log(`| ${r.ratio} | ${(r.value * 100).toFixed(0)} % |`);
}

mkdirSync('bench/results', { recursive: true });
const file = `bench/results/bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(
  file,
  JSON.stringify({ options, rounds, summary, ratios, samples: Object.fromEntries(samples) }, null, 2),
);
console.log(`\nwritten ${file}`);
