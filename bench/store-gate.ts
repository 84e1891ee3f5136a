/**
 * The test store's write gate, per document versus global: the raw write throughput of FerretDB
 * through each, with `--workers` clients each updating its own document by `_id` (`$inc`, no
 * read) for `--seconds`. Starts two stores of its own from this checkout's build
 * (`scripts/test-store.sh` with `LONGHAUL_STORE_GATE=per-document` and `global` on `--port` and
 * `--port + 2`; the global gate is the gate as it was before: one write at a time) and stops them
 * afterwards; the shared test store on 27018 is never touched. Runs the two A B A B … over
 * `--rounds` and prints writes/s of each round, the ratio of each round (per-document ÷ global,
 * measured side by side), the median ratio and the load average.
 *
 *   npx tsx bench/store-gate.ts [--workers 32] [--seconds 5] [--rounds 3] [--port 27088]
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { median } from './lib.js';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '32' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    port: { type: 'string', default: '27088' },
  },
});
const positive = (name: string, value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, not '${value}'`);
  return n;
};
const workers = positive('workers', values.workers);
const seconds = positive('seconds', values.seconds);
const rounds = positive('rounds', values.rounds);
const basePort = positive('port', values.port);

const script = new URL('../scripts/test-store.sh', import.meta.url).pathname;
const gates = [
  { gate: 'per-document', port: basePort },
  { gate: 'global', port: basePort + 2 },
] as const;

function store(command: 'start' | 'stop', port: number, gate: string): void {
  execFileSync('bash', [script, command], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, LONGHAUL_STORE_PORT: String(port), LONGHAUL_STORE_GATE: gate },
    timeout: 20 * 60_000,
  });
}

/** One timed run: `workers` clients update their own documents for `seconds`; resolves writes/s. */
async function measure(port: number): Promise<number> {
  const client = new MongoClient(`mongodb://127.0.0.1:${port}/`, { maxPoolSize: workers + 2 });
  const database = `bench_gate_${process.pid}`;
  try {
    const docs = client.db(database).collection<{ _id: string; n: number }>('docs');
    await docs.insertMany(Array.from({ length: workers }, (_, i) => ({ _id: `doc-${i}`, n: 0 })));
    let writes = 0;
    const started = performance.now();
    const until = started + seconds * 1000;
    await Promise.all(
      Array.from({ length: workers }, async (_, i) => {
        while (performance.now() < until) {
          const result = await docs.updateOne({ _id: `doc-${i}` }, { $inc: { n: 1 } });
          if (result.modifiedCount !== 1) throw new Error(`doc-${i} was not updated`);
          writes++;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const total = (await docs.find().toArray()).reduce((sum, doc) => sum + doc.n, 0);
    if (total !== writes) throw new Error(`${writes} updates acknowledged, ${total} stored`);
    return writes / elapsed;
  } finally {
    await client.db(database).dropDatabase();
    await client.close();
  }
}

const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(', ');
const results: Record<string, number[]> = { 'per-document': [], global: [] };
for (const { gate, port } of gates) store('start', port, gate);
try {
  console.log(`load average before: ${load()}`);
  for (let round = 0; round < rounds; round++) {
    for (const { gate, port } of gates) {
      const rate = await measure(port);
      results[gate]!.push(rate);
      console.log(`round ${round + 1} ${gate}: ${rate.toFixed(0)} writes/s (load ${load()})`);
    }
  }
} finally {
  for (const { gate, port } of gates) store('stop', port, gate);
}
const perDocument = results['per-document']!;
const global = results.global!;
const ratios = perDocument.map((rate, i) => rate / global[i]!);
const list = (values: number[], digits = 0) => values.map((v) => v.toFixed(digits)).join(', ');
console.log(
  `G/store-gate: ${workers} clients updating their own documents by _id for ${seconds} s, ${rounds} rounds: ` +
    `per-document gate ${list(perDocument)} writes/s, global gate ${list(global)} writes/s, ` +
    `ratio per round ${list(ratios, 2)}, median ${median(ratios).toFixed(2)}x (load average after: ${load()})`,
);
