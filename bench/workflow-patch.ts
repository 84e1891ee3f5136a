/**
 * The run-time cost of `ctx.patched` (issue 13): the same 3-activity workflow with and without a
 * patch marker, in memory, one process, rounds interleaved (A B A B …). Prints the median
 * completed workflows/s of each and the history size. Run: `npx tsx bench/workflow-patch.ts [n] [rounds]`.
 * Standalone on purpose (not a row of run.ts), to stay out of the shared bench runner.
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import {
  activity,
  Endpoint,
  InMemorySagaStore,
  InMemoryTransport,
  silentLogger,
  WORKFLOW_SAGA,
  Workflow,
  type WorkflowClass,
  type WorkflowContext,
} from '../src/index.js';
import { median } from './lib.js';

const step = activity('bench.PatchStep', (n: number) => n + 1);

@Workflow('bench.Unpatched')
class Unpatched {
  async run(ctx: WorkflowContext, n: number): Promise<number> {
    const a = await ctx.activity(step, n);
    const b = await ctx.activity(step, a);
    return ctx.activity(step, b);
  }
}

@Workflow('bench.Patched')
class Patched {
  async run(ctx: WorkflowContext, n: number): Promise<number> {
    const a = await ctx.activity(step, n);
    const b = ctx.patched('bench-patch') ? await ctx.activity(step, a) : a + 1;
    return ctx.activity(step, b);
  }
}

async function measure(
  workflow: WorkflowClass,
  n: number,
  window: number,
): Promise<{ perSecond: number; events: number; bytes: number }> {
  const store = new InMemorySagaStore();
  const endpoint = new Endpoint({
    name: 'bench-patch',
    transport: new InMemoryTransport(),
    sagaStore: store,
    workflows: [workflow],
    activities: [step],
    logger: silentLogger,
    concurrency: 8,
  });
  await endpoint.start();
  try {
    const t0 = performance.now();
    let started = 0;
    const runOne = async (): Promise<void> => {
      while (started < n) {
        const id = `p-${started++}`;
        await endpoint.workflows.start(workflow, 0, { id });
        await endpoint.workflows.result(id, { timeout: '2m', pollInterval: '2ms' });
      }
    };
    await Promise.all(Array.from({ length: window }, runOne));
    const seconds = (performance.now() - t0) / 1000;
    const status = (await endpoint.workflows.list({}, { limit: 1 })).items[0];
    const record = (await store.list(WORKFLOW_SAGA, {}, { limit: 1 }))[0];
    if (!record) throw new Error('no instance');
    return { perSecond: n / seconds, events: status?.history.events ?? 0, bytes: status?.history.bytes ?? 0 };
  } finally {
    await endpoint.stop();
  }
}

const n = Number(process.argv[2] ?? 300);
const rounds = Number(process.argv[3] ?? 5);
const figures = { without: [] as number[], with: [] as number[] };
let sizes = { without: '', with: '' };
await measure(Unpatched, 50, 16); // warm-up
for (let round = 0; round < rounds; round++) {
  const a = await measure(Unpatched, n, 32);
  const b = await measure(Patched, n, 32);
  figures.without.push(a.perSecond);
  figures.with.push(b.perSecond);
  sizes = { without: `${a.events} events, ${a.bytes} B`, with: `${b.events} events, ${b.bytes} B` };
}
const line = (name: string, values: number[], size: string) =>
  `${name.padEnd(22)} ${median(values).toFixed(0).padStart(6)} workflows/s (min ${Math.min(...values).toFixed(0)}, max ${Math.max(...values).toFixed(0)}); history ${size}`;
console.log(`memory, ${n} workflows x ${rounds} rounds, 3 activities each`);
console.log(line('without patch marker', figures.without, sizes.without));
console.log(line('with patch marker', figures.with, sizes.with));
console.log(`ratio with/without: ${(median(figures.with) / median(figures.without)).toFixed(3)}`);
