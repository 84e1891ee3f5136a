/**
 * Cost per event against history length (issue 18): one workflow instance whose history already
 * holds 10, 1,000 or 5,000 events (seeded straight into the store: `run` awaits that many recorded
 * activity results, then a signal), then runs `steps` more activities one after the other. A row
 * reports the time per step (one activity: its command, its result message, 2 history events),
 * and the store operations, commits and broker messages per step (counted through wrappers, not
 * timed), with the run cache on (each result resumes the suspended run) and off (each result
 * replays `run` over the whole history), in memory and on RabbitMQ + FerretDB.
 *
 * Run: `npx tsx bench/workflow-history.ts [rounds] [memory|services|both]` (rows interleaved).
 * Also registered in `run.ts` as `WH/*`, with the ratios 5,000 ÷ 10 and 1,000 ÷ 10 of the cost.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import {
  activity,
  Endpoint,
  Event,
  type SagaCommit,
  type SagaStore,
  silentLogger,
  WORKFLOW_SAGA,
  Workflow,
  type WorkflowContext,
} from '../src/index.js';
import { type HistoryEvent, type WorkflowState } from '../src/workflows/history.js';
import { sagaInstanceId } from '../src/util/ids.js';
import { type BenchRow, median, type Sample } from './lib.js';
import { counted, STORE_OPS, sum } from './workflow-steps.js';
import { memorySetup, servicesSetup, type WorkflowBenchSetup } from './workflow-setup.js';

const add = activity('bench.HistoryAdd', (n: number) => ({ n: n + 1, note: 'the result of one step' }));

@Event('bench.HistoryGo')
class Go {
  constructor(readonly steps: number) {}
}

@Workflow('bench.LongHistory')
class LongHistory {
  async run(ctx: WorkflowContext, input: { prefix: number }): Promise<number> {
    for (let i = 0; i < input.prefix; i++) await ctx.activity(add, i); // all in the seeded history
    const go = await ctx.waitForEvent(Go);
    let last = 0;
    for (let j = 0; j < go!.steps; j++) last = (await ctx.activity(add, last)).n;
    return last;
  }
}

/** The history of an instance that awaited `prefix` activities and now waits for `Go`. */
function seededHistory(prefix: number, at: Date): HistoryEvent[] {
  const history: HistoryEvent[] = [{ e: 'started', at, generation: 0 }];
  for (let seq = 0; seq < prefix; seq++) {
    history.push({ e: 'scheduled', seq, op: 'activity', name: 'bench.HistoryAdd', at });
    history.push({ e: 'completed', seq, value: { n: seq + 1, note: 'the result of one step' }, at });
  }
  history.push({ e: 'scheduled', seq: prefix, op: 'event', name: 'bench.HistoryGo', at });
  return history;
}

async function seed(store: SagaStore, id: string, events: number): Promise<void> {
  const prefix = Math.max(0, Math.round((events - 2) / 2));
  const at = new Date();
  const state: WorkflowState = {
    type: 'bench.LongHistory',
    instanceId: id,
    generation: 0,
    input: { prefix },
    status: 'running',
    history: seededHistory(prefix, at),
    createdAt: at,
  };
  await store.commit({
    expectedVersion: 0,
    newOutbox: [],
    appendOnly: 'history', // stored as the engine's commits store it (in chunks on MongoDB)
    record: {
      sagaType: WORKFLOW_SAGA,
      id: sagaInstanceId(WORKFLOW_SAGA, id),
      correlationKey: id,
      version: 1,
      status: 'active',
      state,
      inbox: [],
      timeouts: [],
      createdAt: at,
      updatedAt: at,
      labels: { workflowType: 'bench.LongHistory', status: 'running' },
    },
  });
}

/** One instance with `events` in its history runs `steps` more activities; what each step costs. */
async function measure(
  setup: WorkflowBenchSetup,
  events: number,
  cache: boolean,
  steps: number,
): Promise<Sample> {
  const storeCounts = new Map<string, number>();
  const brokerCounts = new Map<string, number>();
  const id = `h-${events}-${randomUUID().slice(0, 8)}`;
  const marks: { at: number; store: number; commits: number; messages: number }[] = [];
  let finished: () => void = () => {};
  const done = new Promise<void>((resolve) => (finished = resolve));
  // Commits of the instance are timed as they land; the counts are read at the same moments.
  const observed = new Proxy(setup.store, {
    get(target, prop, receiver) {
      if (prop !== 'commit') return Reflect.get(target, prop, receiver) as unknown;
      return async (commit: SagaCommit) => {
        await target.commit(commit);
        if (commit.record.correlationKey !== id) return;
        marks.push({
          at: performance.now(),
          store: sum(storeCounts, STORE_OPS),
          commits: storeCounts.get('commit') ?? 0,
          messages: sum(brokerCounts, ['send', 'publish']),
        });
        if ((commit.record.state as WorkflowState | null)?.status === 'completed') finished();
      };
    },
  });
  await seed(setup.store, id, events);
  const endpoint = new Endpoint({
    name: 'bench-history',
    transport: counted(setup.transport, brokerCounts),
    sagaStore: counted(observed, storeCounts),
    workflows: [LongHistory],
    activities: [add],
    logger: silentLogger,
    workflowOptions: { cache: { maxRuns: cache ? 1000 : 0 } },
  });
  await endpoint.start();
  try {
    await endpoint.workflows.signal(id, Go, new Go(steps));
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`not completed in 10 min`)), 600_000).unref(),
    );
    await Promise.race([done, timeout]);
    // marks[0]: the signal (a replay either way); marks[1..steps]: one per result. Timed from the
    // first result on, so every interval is one step as the cache (or its absence) makes it.
    const first = marks[1]!;
    const last = marks[steps]!;
    const intervals = steps - 1;
    const msPerStep = (last.at - first.at) / intervals;
    return {
      messagesPerSecond: 1000 / msPerStep,
      extra: {
        historyEvents: events,
        msPerStep: Number(msPerStep.toFixed(2)),
        storeOpsPerStep: Number(((last.store - first.store) / intervals).toFixed(2)),
        commitsPerStep: Number(((last.commits - first.commits) / intervals).toFixed(2)),
        messagesPerStep: Number(((last.messages - first.messages) / intervals).toFixed(2)),
      },
      invalid: marks.length !== steps + 1 ? `${marks.length} commits, expected ${steps + 1}` : undefined,
    };
  } finally {
    await endpoint.stop();
    await setup.teardown();
  }
}

/** The history lengths measured. */
export const HISTORY_SIZES = [10, 1000, 5000] as const;

/** The row name of one configuration. */
export const historyRowName = (where: 'memory' | 'rabbitmq+ferretdb', cache: boolean, events: number) =>
  `WH/${where}/${cache ? 'cache' : 'replay'}-${events}`;

/** Rows: cache on and off, at each history length, in memory and (unless `services` is 0) on the services. */
export function workflowHistoryRows(steps: { memory: number; services: number }): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const where of ['memory', 'rabbitmq+ferretdb'] as const) {
    const n = where === 'memory' ? steps.memory : steps.services;
    if (n < 2) continue;
    for (const cache of [true, false]) {
      for (const events of HISTORY_SIZES) {
        rows.push({
          name: historyRowName(where, cache, events),
          description: `${where === 'memory' ? 'in memory' : 'RabbitMQ + FerretDB'}: activity steps/s of an instance with ${events} history events, run cache ${cache ? 'on' : 'off (replay)'}`,
          run: () => measure(where === 'memory' ? memorySetup() : servicesSetup('history'), events, cache, n),
        });
      }
    }
  }
  return rows;
}

/** Cost ratios (time per step, the longer history over the shorter) of each configuration. */
export function historyRatios(
  rate: (name: string) => number | undefined,
): { ratio: string; value?: number }[] {
  const out: { ratio: string; value?: number }[] = [];
  for (const where of ['memory', 'rabbitmq+ferretdb'] as const) {
    for (const cache of [true, false]) {
      const base = rate(historyRowName(where, cache, 10));
      for (const events of [1000, 5000]) {
        const at = rate(historyRowName(where, cache, events));
        out.push({
          ratio: `cost per step: ${historyRowName(where, cache, events)} ÷ ${historyRowName(where, cache, 10)}`,
          ...(base !== undefined && at !== undefined ? { value: base / at } : {}),
        });
      }
    }
    for (const events of HISTORY_SIZES) {
      const cached = rate(historyRowName(where, true, events));
      const replayed = rate(historyRowName(where, false, events));
      out.push({
        ratio: `cost per step: ${historyRowName(where, false, events)} ÷ ${historyRowName(where, true, events)}`,
        ...(cached !== undefined && replayed !== undefined ? { value: cached / replayed } : {}),
      });
    }
  }
  return out;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 3);
  const which = process.argv[3] ?? 'both';
  const rows = workflowHistoryRows({
    memory: which === 'services' ? 0 : 100,
    services: which === 'memory' ? 0 : 12,
  });
  const samples = new Map<string, Sample[]>(rows.map((r) => [r.name, []]));
  await rows[0]!.run(); // warm-up
  for (let round = 1; round <= rounds; round++) {
    for (const row of rows) {
      const sample = await row.run();
      samples.get(row.name)!.push(sample);
      console.log(`  round ${round} ${row.name}: ${String(sample.extra?.msPerStep)} ms/step`);
    }
  }
  const ms = (name: string) => median(samples.get(name)!.map((s) => 1000 / s.messagesPerSecond));
  console.log(`\nrounds=${rounds}`);
  console.log(
    '| row | ms per step (median) | min–max | store ops / step | commits / step | broker msgs / step |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    const list = samples.get(row.name)!;
    const all = list.map((s) => 1000 / s.messagesPerSecond);
    const extra = list.at(-1)?.extra ?? {};
    const invalid = list.find((s) => s.invalid)?.invalid;
    console.log(
      `| ${row.name} | ${invalid ? `INVALID (${invalid})` : ms(row.name).toFixed(2)} | ${Math.min(...all).toFixed(2)}–${Math.max(...all).toFixed(2)} | ${extra.storeOpsPerStep} | ${extra.commitsPerStep} | ${extra.messagesPerStep} |`,
    );
  }
  const rate = (name: string) => (samples.has(name) ? 1000 / ms(name) : undefined);
  for (const r of historyRatios(rate))
    if (r.value !== undefined) console.log(`${r.ratio}: ${r.value.toFixed(2)}×`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
