/**
 * Workload S, defined once for every saga row (Longhaul's and the peer's):
 *
 * N sagas; each is started by an event (`Started`, published by the driver), sends one command
 * (`DoStep`) that a plain handler answers with an event (`StepDone`), which the saga handles and
 * then completes. That is 3 messages per saga, all through one endpoint's queue: 3 consumes,
 * 3 publishes (the driver's, the saga's, the handler's) and 3 acks; on the store, the start is a
 * lookup + insert (+ marking its outbox entry dispatched) and `StepDone` a lookup + conditional
 * write (a tombstone), the plain handler touching no state.
 *
 * At most `window` sagas are in flight; the driver starts the next one when one completes.
 * Latency is per message: from the moment it was produced (published by the driver, or emitted by
 * the handler before it) to the moment its handler ran.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import amqp from 'amqplib';
import {
  Command,
  Endpoint,
  type EndpointOptions,
  Event,
  Handles,
  HandlerFor,
  type HandlerContext,
  RabbitMqTransport,
  Saga,
  type SagaContext,
  type SagaStore,
  silentLogger,
  StartedBy,
} from '../src/index.js';
import { percentile, type Sample } from './lib.js';

export const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const MONGODB_URL = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';
/** Messages per saga in workload S. */
export const MESSAGES_PER_SAGA = 3;
/** A run that has not finished after this long is called off and reported invalid. */
export const RUN_LIMIT_MS = Number(process.env.LONGHAUL_BENCH_RUN_LIMIT_MS ?? 240_000);

/** The three steps of one saga, as the tracker names them. */
export type Step = 'started' | 'command' | 'done';

/** The index of a step in the tracker's per-saga slots. */
const STEP_INDEX: Readonly<Record<Step, number>> = { started: 0, command: 1, done: 2 };

/**
 * Shared bookkeeping of one run of workload S, whatever executes it: when each message was
 * produced and handled, distinct messages handled, duplicates, completions.
 *
 * Saga ids end in `-<index>` (index < n), so the books are typed arrays indexed by saga and step:
 * the harness must not cost the engine under measurement a map entry and a key string per message.
 */
export class SagaTracker {
  /** When each (saga, step) message was produced (`performance.now()`), NaN before. */
  private readonly producedAt: Float64Array;
  /** 1 once a handler of (saga, step) ran. */
  private readonly handled: Uint8Array;
  private handledCount = 0;
  /** Latencies of the distinct messages, in the order they were first handled. */
  private readonly latencyBook: Float64Array;
  private latencyCount = 0;
  executions = 0;
  completed = 0;
  private readonly completedFlags: Uint8Array;
  private resolveDone: () => void = () => undefined;
  readonly done: Promise<void>;
  startedAt = 0;
  finishedAt = 0;

  constructor(
    readonly n: number,
    private readonly startNext: () => void,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.producedAt = new Float64Array(n * MESSAGES_PER_SAGA).fill(Number.NaN);
    this.handled = new Uint8Array(n * MESSAGES_PER_SAGA);
    this.latencyBook = new Float64Array(n * MESSAGES_PER_SAGA);
    this.completedFlags = new Uint8Array(n);
  }

  /** Latencies of the distinct messages handled, in ms. */
  get latencies(): Float64Array {
    return this.latencyBook.subarray(0, this.latencyCount);
  }

  /** The saga's index, from the `-<index>` its id ends with. */
  private indexOf(sagaId: string): number {
    const index = Number(sagaId.slice(sagaId.lastIndexOf('-') + 1));
    if (!Number.isInteger(index) || index < 0 || index >= this.n) {
      throw new Error(`bench: saga id '${sagaId}' does not end in -<index below ${this.n}>`);
    }
    return index;
  }

  produced(sagaId: string, step: Step): void {
    this.producedAt[this.indexOf(sagaId) * MESSAGES_PER_SAGA + STEP_INDEX[step]] = performance.now();
  }

  /** A handler for `step` of `sagaId` starts running (on every execution, retries included). */
  handling(sagaId: string, step: Step): void {
    const slot = this.indexOf(sagaId) * MESSAGES_PER_SAGA + STEP_INDEX[step];
    this.executions++;
    if (this.handled[slot] === 1) return;
    this.handled[slot] = 1;
    this.handledCount++;
    const at = this.producedAt[slot] as number;
    if (!Number.isNaN(at)) this.latencyBook[this.latencyCount++] = performance.now() - at;
  }

  /** The saga `sagaId` has completed and its completion is stored. */
  complete(sagaId: string): void {
    const index = this.indexOf(sagaId);
    if (this.completedFlags[index] === 1) return;
    this.completedFlags[index] = 1;
    this.completed++;
    if (this.completed === this.n) {
      this.finishedAt = performance.now();
      this.resolveDone();
    } else this.startNext();
  }

  get distinctHandled(): number {
    return this.handledCount;
  }

  /** Waits for all completions, or `limitMs`; resolves false on the latter. */
  async finished(limitMs = RUN_LIMIT_MS): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), limitMs)));
    try {
      return await Promise.race([this.done.then(() => true), limit]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The sample of this run. `problems` are extra validity findings (queue depths, id counts);
   * any of them, or a distinct-message count other than 3 N, makes the run invalid.
   */
  sample(problems: string[] = [], extra: Record<string, number | string> = {}): Sample {
    const end = this.finishedAt || performance.now();
    const seconds = (end - this.startedAt) / 1000;
    const expected = MESSAGES_PER_SAGA * this.n;
    const found = [...problems];
    if (this.completed !== this.n) found.push(`${this.completed} of ${this.n} sagas completed`);
    if (this.distinctHandled !== expected)
      found.push(`handled ${this.distinctHandled} distinct messages, expected ${expected}`);
    return {
      messagesPerSecond: this.distinctHandled / seconds,
      p50Ms: percentile(this.latencies, 50),
      p99Ms: percentile(this.latencies, 99),
      extra: {
        sagas: this.n,
        seconds: Number(seconds.toFixed(2)),
        reruns: this.executions - this.distinctHandled,
        ...extra,
      },
      ...(found.length > 0 ? { invalid: found.join('; ') } : {}),
    };
  }
}

/** The tracker of the run in progress (handlers are built by the framework, not by us). */
let current: SagaTracker | undefined;
function tracker(): SagaTracker {
  if (!current) throw new Error('no workload S run in progress');
  return current;
}

@Event('bench.s.Started')
export class Started {
  constructor(readonly sagaId: string) {}
}
@Command('bench.s.DoStep')
export class DoStep {
  constructor(readonly sagaId: string) {}
}
@Event('bench.s.StepDone')
export class StepDone {
  constructor(readonly sagaId: string) {}
}

interface BenchState {
  sagaId: string;
  payload: string;
}

@Saga('bench.s.Saga')
export class WorkloadSaga {
  @StartedBy(Started, { correlateBy: (m) => m.sagaId })
  async started(m: Started, ctx: SagaContext<BenchState>): Promise<void> {
    tracker().handling(m.sagaId, 'started');
    ctx.state = { sagaId: m.sagaId, payload: 'x'.repeat(64) };
    tracker().produced(m.sagaId, 'command');
    await ctx.send(new DoStep(m.sagaId));
  }

  @Handles(StepDone, { correlateBy: (m) => m.sagaId })
  done(m: StepDone, ctx: SagaContext<BenchState>): void {
    tracker().handling(m.sagaId, 'done');
    ctx.complete();
  }
}

@HandlerFor(DoStep)
export class DoStepHandler {
  async handle(m: DoStep, ctx: HandlerContext): Promise<void> {
    tracker().handling(m.sagaId, 'command');
    tracker().produced(m.sagaId, 'done');
    await ctx.publish(new StepDone(m.sagaId));
  }
}

/** The parts a Longhaul row varies; the rest is in-memory. */
export type LonghaulParts = Pick<EndpointOptions, 'transport' | 'sagaStore' | 'timeoutStore'>;

/** Window of sagas in flight for `concurrency`. */
export const windowFor = (concurrency: number): number => concurrency * 4;

/** Counts of the messages in a broker queue (for the end-of-run depth check). */
export async function queueDepths(queues: readonly string[]): Promise<Record<string, number>> {
  const connection = await amqp.connect(RABBITMQ_URL);
  const depths: Record<string, number> = {};
  try {
    for (const queue of queues) {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      try {
        depths[queue] = (await channel.checkQueue(queue)).messageCount;
        await channel.close();
      } catch {
        depths[queue] = Number.NaN;
      }
    }
  } finally {
    await connection.close();
  }
  return depths;
}

/** Problems with end-of-run queue depths (every queue must be empty). */
export function depthProblems(depths: Record<string, number>): string[] {
  return Object.entries(depths)
    .filter(([, count]) => count !== 0)
    .map(([queue, count]) => `queue ${queue} holds ${count} message(s) at the end`);
}

/**
 * Runs workload S once on a fresh Longhaul endpoint built from `parts`. With a RabbitMqTransport,
 * also checks the endpoint and error queues are empty at the end and deletes the topology.
 */
export async function runLonghaulS(
  n: number,
  concurrency: number,
  parts: LonghaulParts = {},
  options: {
    /** Called with the endpoint's saga store before it starts (to load instances). */
    sagaStoreBefore?: (store: SagaStore) => Promise<void>;
    /** Closes the transport and stores at the end. @defaultValue true */
    close?: boolean;
  } = {},
): Promise<Sample> {
  // Checked once the run is over: a set built while it runs would cost the engine under measurement.
  const envelopeIds: string[] = [];
  let next = 0;
  const run = randomUUID().slice(0, 8);
  const startOne = (): void => {
    if (next >= n) return;
    const sagaId = `s-${run}-${next++}`;
    t.produced(sagaId, 'started');
    endpoint.bus.publish(new Started(sagaId)).catch((error: unknown) => {
      console.error(`bench: publishing ${sagaId} failed`, error);
    });
  };
  const t = new SagaTracker(n, startOne);
  const endpoint: Endpoint = new Endpoint({
    name: 'bench-s',
    sagas: [WorkloadSaga],
    handlers: [DoStepHandler],
    ...parts,
    logger: silentLogger,
    concurrency,
    onHandled: (h) => {
      envelopeIds.push(h.envelope.id);
      if (h.envelope.body instanceof StepDone && h.sagas.length > 0) t.complete(h.envelope.body.sagaId);
    },
  });
  if (options.sagaStoreBefore) await options.sagaStoreBefore(endpoint.sagaStore);
  current = t;
  await endpoint.start();
  const problems: string[] = [];
  let depths: Record<string, number> = {};
  try {
    t.startedAt = performance.now();
    for (let i = 0; i < Math.min(windowFor(concurrency), n); i++) startOne();
    if (!(await t.finished())) problems.push(`not finished within ${RUN_LIMIT_MS} ms`);
  } finally {
    await endpoint.stop();
    current = undefined;
    if (endpoint.transport instanceof RabbitMqTransport) {
      const names = endpoint.transport.names;
      depths = await queueDepths([names.queue('bench-s'), names.errorQueue('bench-s')]);
      problems.push(...depthProblems(depths));
      await endpoint.transport.deleteDeclaredTopology();
    }
    if (options.close ?? true) await endpoint.close();
  }
  const distinctIds = new Set(envelopeIds).size;
  if (distinctIds !== MESSAGES_PER_SAGA * n)
    problems.push(`onHandled saw ${distinctIds} distinct envelope ids, expected ${MESSAGES_PER_SAGA * n}`);
  return t.sample(problems, { window: windowFor(concurrency) });
}

/** A fresh RabbitMqTransport with its own prefix (its topology is deleted after the run). */
export function benchTransport(queueType: 'classic' | 'quorum', prefetch: number): RabbitMqTransport {
  return new RabbitMqTransport({
    url: RABBITMQ_URL,
    prefix: `bench-${randomUUID().slice(0, 8)}.`,
    queueType,
    prefetch,
    logger: silentLogger,
  });
}
