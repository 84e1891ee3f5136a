/**
 * Inline steps against activities (issue 18): workload W (N workflows, 3 sequential operations
 * each) with the operations as `ctx.step` and as `ctx.activity`, in memory and on RabbitMQ +
 * FerretDB (gated). Prints completed workflows/s of each, the ratio steps ÷ activities, and the
 * store operations and broker messages per workflow operation (counted through wrappers, not
 * timed). The completion is watched on the unwrapped store, so the counts are the engine's only.
 *
 * Run: `npx tsx bench/workflow-steps.ts [memory-n] [services-n] [rounds]` (rows interleaved:
 * steps, activities, steps, …). Also registered in `run.ts` as `W/steps/*` and `W/activities/*`.
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import {
  activity,
  Endpoint,
  silentLogger,
  WORKFLOW_SAGA,
  Workflow,
  type WorkflowClass,
  type SagaCommit,
  type SagaStore,
  type WorkflowContext,
} from '../src/index.js';
import { type BenchRow, median, type Sample } from './lib.js';
import { memorySetup, servicesSetup, type WorkflowBenchSetup } from './workflow-setup.js';

const add = activity('bench.StepsAdd', (n: number) => n + 1);

@Workflow('bench.InlineSteps')
class InlineSteps {
  async run(ctx: WorkflowContext, n: number): Promise<number> {
    const a = await ctx.step('one', () => n + 1);
    const b = await ctx.step('two', () => a + 1);
    return ctx.step('three', () => b + 1);
  }
}

@Workflow('bench.ActivitySteps')
class ActivitySteps {
  async run(ctx: WorkflowContext, n: number): Promise<number> {
    const a = await ctx.activity(add, n);
    const b = await ctx.activity(add, a);
    return ctx.activity(add, b);
  }
}

/** Counts the calls of an object's methods, by name. */
export function counted<T extends object>(target: T, counts: Map<string, number>): T {
  return new Proxy(target, {
    get(object, prop, receiver) {
      const value: unknown = Reflect.get(object, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      return (...args: unknown[]) => {
        counts.set(prop, (counts.get(prop) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(object, args);
      };
    },
  });
}

export const STORE_OPS = [
  'commit',
  'findByCorrelation',
  'findById',
  'markDispatched',
  'claimOutbox',
  'recordOutboxFailure',
  'findDueOutbox',
  'list',
];
export const sum = (counts: Map<string, number>, names: readonly string[]) =>
  names.reduce((total, name) => total + (counts.get(name) ?? 0), 0);

/**
 * Sees each workflow end in the commit that ends it (its record's `status` label), so the harness
 * waits without polling the store: a poll every few ms would be store traffic of its own, and a
 * coarser one would round every workflow up to the poll interval (a workflow of 3 steps on the
 * services takes about as long as one 50 ms poll).
 */
class CompletionWatch {
  private readonly waiting = new Map<string, (status: string) => void>();

  /** Resolves with the status (`completed`, `failed`, …) of the commit that ends workflow `id`. */
  ending(id: string): Promise<string> {
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }

  watch(store: SagaStore): SagaStore {
    const waiting = this.waiting;
    return new Proxy(store, {
      get(object, prop, receiver) {
        const value: unknown = Reflect.get(object, prop, receiver);
        if (prop !== 'commit' || typeof value !== 'function') return value;
        return async (commit: SagaCommit) => {
          await (value as SagaStore['commit']).call(object, commit);
          const status = commit.record.labels?.status;
          if (commit.record.sagaType !== WORKFLOW_SAGA || !status || !ENDED.has(status)) return;
          const resolve = waiting.get(commit.record.correlationKey);
          waiting.delete(commit.record.correlationKey);
          resolve?.(status);
        };
      },
    });
  }
}

const ENDED = new Set(['completed', 'failed', 'terminated', 'parked']);

/** Resolves after `ms` with a status that names the stall (a run that never ends is invalid, not slow). */
function stalled(id: string, ms: number): Promise<string> {
  return new Promise((resolve) => setTimeout(() => resolve(`${id} did not end within ${ms} ms`), ms).unref());
}

/** Runs `n` workflows of `workflow` (at most `window` at once) and counts what they cost. */
async function measure(
  workflow: WorkflowClass,
  setup: WorkflowBenchSetup,
  n: number,
  window: number,
  stallMs: number,
): Promise<Sample> {
  const storeCounts = new Map<string, number>();
  const brokerCounts = new Map<string, number>();
  const completions = new CompletionWatch();
  const endpoint = new Endpoint({
    name: 'bench-steps',
    transport: counted(setup.transport, brokerCounts),
    sagaStore: completions.watch(counted(setup.store, storeCounts)),
    ...(setup.timeouts ? { timeoutStore: setup.timeouts } : {}),
    workflows: [workflow],
    activities: [add],
    logger: silentLogger,
    concurrency: 8,
  });
  await endpoint.start();
  try {
    const t0 = performance.now();
    let started = 0;
    let completed = 0;
    const runOne = async (): Promise<void> => {
      while (started < n) {
        const id = `s-${started++}-${t0}`;
        const ended = completions.ending(id);
        await endpoint.workflows.start(workflow, 0, { id });
        const status = await Promise.race([ended, stalled(id, stallMs)]);
        if (status !== 'completed') throw new Error(`workflow ${id} ${status}`);
        completed++;
      }
    };
    await Promise.all(Array.from({ length: window }, runOne));
    const seconds = (performance.now() - t0) / 1000;
    // Let the dispatches that follow the last commits finish before reading the counts.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const operations = n * 3;
    const storeOps = sum(storeCounts, STORE_OPS);
    const messages = sum(brokerCounts, ['send', 'publish']);
    return {
      messagesPerSecond: n / seconds,
      extra: {
        workflows: n,
        seconds: Number(seconds.toFixed(2)),
        storeOpsPerOperation: Number((storeOps / operations).toFixed(2)),
        commitsPerOperation: Number(((storeCounts.get('commit') ?? 0) / operations).toFixed(2)),
        messagesPerOperation: Number((messages / operations).toFixed(2)),
      },
      invalid: completed < n ? `${completed} of ${n} workflows completed` : undefined,
    };
  } finally {
    await endpoint.stop();
    await setup.teardown();
  }
}

/** The four rows: steps and activities, in memory and on the services. */
export function workflowStepRows(sizes: { memory: number; services: number }): BenchRow[] {
  const row = (name: string, description: string, workflow: WorkflowClass, services: boolean): BenchRow => ({
    name,
    description,
    run: () =>
      services
        ? measure(workflow, servicesSetup('steps', { timeouts: true }), sizes.services, 16, 60_000)
        : measure(workflow, memorySetup(), sizes.memory, 32, 10_000),
  });
  return [
    row('W/steps/memory', 'in memory: workflows/s of 3 inline steps', InlineSteps, false),
    row('W/activities/memory', 'in memory: workflows/s of 3 activities', ActivitySteps, false),
    row('W/steps/rabbitmq+ferretdb', 'RabbitMQ + FerretDB: workflows/s of 3 inline steps', InlineSteps, true),
    row(
      'W/activities/rabbitmq+ferretdb',
      'RabbitMQ + FerretDB: workflows/s of 3 activities',
      ActivitySteps,
      true,
    ),
  ];
}

async function main(): Promise<void> {
  const memoryN = Number(process.argv[2] ?? 300);
  const servicesN = Number(process.argv[3] ?? 60);
  const rounds = Number(process.argv[4] ?? 3);
  const rows = workflowStepRows({ memory: memoryN, services: servicesN });
  const samples = new Map<string, Sample[]>(rows.map((r) => [r.name, []]));
  await rows[0]!.run(); // warm-up
  for (let round = 1; round <= rounds; round++) {
    for (const row of rows) {
      const sample = await row.run();
      samples.get(row.name)!.push(sample);
      console.log(`  round ${round} ${row.name}: ${sample.messagesPerSecond.toFixed(1)} workflows/s`);
    }
  }
  console.log(`\nmemory n=${memoryN}, services n=${servicesN}, rounds=${rounds}`);
  console.log('| row | workflows/s (median) | min–max | store ops / op | commits / op | broker msgs / op |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  const medianOf = (name: string) => median(samples.get(name)!.map((s) => s.messagesPerSecond));
  for (const row of rows) {
    const list = samples.get(row.name)!;
    const rates = list.map((s) => s.messagesPerSecond);
    const extra = list.at(-1)?.extra ?? {};
    const invalid = list.find((s) => s.invalid)?.invalid;
    console.log(
      `| ${row.name} | ${invalid ? `INVALID (${invalid})` : medianOf(row.name).toFixed(1)} | ${Math.min(...rates).toFixed(1)}–${Math.max(...rates).toFixed(1)} | ${extra.storeOpsPerOperation} | ${extra.commitsPerOperation} | ${extra.messagesPerOperation} |`,
    );
  }
  for (const where of ['memory', 'rabbitmq+ferretdb']) {
    const ratio = medianOf(`W/steps/${where}`) / medianOf(`W/activities/${where}`);
    console.log(`W/steps/${where} ÷ W/activities/${where}: ${ratio.toFixed(2)}x`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
