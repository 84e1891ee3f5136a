/**
 * Workload W: N workflows of 3 sequential activities each. Reports completed workflows/s (as
 * "messages/s" = workflows/s × 1), history length and stored document size per instance.
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { BSON, MongoClient } from 'mongodb';
import {
  activity,
  Endpoint,
  type Endpoint as EndpointType,
  InMemorySagaStore,
  InMemoryTransport,
  MongoSagaStore,
  MongoTimeoutStore,
  RabbitMqTransport,
  type SagaStore,
  silentLogger,
  type TimeoutStore,
  type Transport,
  WORKFLOW_SAGA,
  Workflow,
  type WorkflowContext,
} from '../../src/index.js';
import { type BenchOptions, type BenchRow, type Sample } from '../lib.js';

const step = activity('bench.Step', (n: number) => n + 1);

@Workflow('bench.ThreeSteps')
export class ThreeSteps {
  async run(ctx: WorkflowContext, n: number): Promise<number> {
    const a = await ctx.activity(step, n);
    const b = await ctx.activity(step, a);
    return ctx.activity(step, b);
  }
}

/** Starts `n` workflows (at most `window` running) and waits for all to complete. */
export async function runWorkflowWorkload(
  endpoint: EndpointType,
  store: SagaStore,
  n: number,
  window: number,
  pollInterval = '2ms',
): Promise<Sample> {
  const t0 = performance.now();
  let started = 0;
  const client = endpoint.workflows;
  const runOne = async (): Promise<void> => {
    while (started < n) {
      const id = `wf-${started++}-${t0}`;
      await client.start(ThreeSteps, 0, { id });
      await client.result(id, { timeout: '2m', pollInterval });
    }
  };
  await Promise.all(Array.from({ length: window }, runOne));
  const seconds = (performance.now() - t0) / 1000;
  const sample = (
    await store.list(WORKFLOW_SAGA, { labels: { workflowType: 'bench.ThreeSteps' } }, { limit: 1 })
  )[0];
  const state = sample?.state as { history: unknown[] } | undefined;
  const completed = (await store.list(WORKFLOW_SAGA, { labels: { status: 'completed' } }, { limit: n + 1 }))
    .length;
  return {
    messagesPerSecond: n / seconds,
    extra: {
      workflows: n,
      seconds: Number(seconds.toFixed(2)),
      historyEvents: state?.history.length ?? 0,
      documentBytes: sample ? BSON.serialize(sample as unknown as Record<string, unknown>).length : 0,
    },
    invalid: completed < n ? `${completed} of ${n} workflows completed` : undefined,
  };
}

/** Builds an endpoint hosting the bench workflow and its activity. */
export function workflowEndpoint(
  name: string,
  transport: Transport,
  sagaStore: SagaStore,
  concurrency: number,
  timeoutStore?: TimeoutStore,
): Endpoint {
  return new Endpoint({
    name,
    transport,
    sagaStore,
    timeoutStore,
    workflows: [ThreeSteps],
    activities: [step],
    logger: silentLogger,
    concurrency,
  });
}

export function workflowRows(options: BenchOptions): BenchRow[] {
  return [
    {
      name: 'W/longhaul/memory',
      description: 'Longhaul in memory, one process: completed 3-activity workflows/s',
      async run() {
        const store = new InMemorySagaStore();
        const endpoint = workflowEndpoint('bench-wf', new InMemoryTransport(), store, options.concurrency);
        await endpoint.start();
        try {
          return await runWorkflowWorkload(
            endpoint,
            store,
            Math.max(50, Math.floor(options.n / 3)),
            options.concurrency * 4,
          );
        } finally {
          await endpoint.stop();
        }
      },
    },
    {
      name: 'W/longhaul/rabbitmq-classic+ferretdb',
      description: 'Longhaul on RabbitMQ + FerretDB (gated): completed 3-activity workflows/s',
      maxRounds: 1,
      async run() {
        const tag = randomUUID().slice(0, 8);
        const url = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';
        const database = `lh_bench_wf_${tag}`;
        const transport = new RabbitMqTransport({
          url: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
          prefix: `bench-${tag}.`,
          logger: silentLogger,
        });
        const store = new MongoSagaStore({ url, database, logger: silentLogger });
        const timeouts = new MongoTimeoutStore({ url, database, logger: silentLogger });
        const endpoint = workflowEndpoint('bench-wf', transport, store, options.concurrency, timeouts);
        await endpoint.start();
        try {
          return await runWorkflowWorkload(
            endpoint,
            store,
            Math.max(20, Math.floor(options.n / 30)),
            options.concurrency * 2,
          );
        } finally {
          await endpoint.stop();
          await transport.deleteDeclaredTopology();
          const client = new MongoClient(url);
          await client.db(database).dropDatabase();
          await client.close();
          await endpoint.close();
        }
      },
    },
  ];
}
