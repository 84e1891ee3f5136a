/**
 * Workload S on the embedded in-memory transport and store: N sagas, each started by an event and
 * driven by two follow-up events, the second completing it (3 saga messages per saga). At most
 * `window` sagas are in flight; latency is publish → handled, per message.
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import {
  Bus,
  Endpoint,
  type EndpointOptions,
  Event,
  Handles,
  type HandledMessage,
  InMemoryTransport,
  Saga,
  type SagaContext,
  silentLogger,
  StartedBy,
} from '../../src/index.js';
import { type BenchOptions, type BenchRow, percentile, type Sample } from '../lib.js';

@Event('bench.Started')
export class Started {
  constructor(readonly id: string) {}
}
@Event('bench.Stepped')
export class Stepped {
  constructor(
    readonly id: string,
    readonly step: number,
  ) {}
}

@Saga('BenchSaga')
export class BenchSaga {
  @StartedBy(Started, { correlateBy: (m) => m.id })
  started(_m: Started, ctx: SagaContext<{ steps: number }>): void {
    ctx.state = { steps: 0 };
  }

  @Handles(Stepped, { correlateBy: (m) => m.id })
  stepped(m: Stepped, ctx: SagaContext<{ steps: number }>): void {
    ctx.state.steps++;
    if (m.step === 2) ctx.complete();
  }
}

/** Runs workload S once on `endpoint`'s bus and reports throughput and latency. */
export async function runSagaWorkload(
  bus: Bus,
  observe: (listener: (h: HandledMessage) => void) => void,
  n: number,
  window: number,
): Promise<Sample> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const handledIds = new Set<string>();
  let completed = 0;
  let next = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const send = (message: object, id: string): void => {
    sentAt.set(id, performance.now());
    void bus.publish(message, { messageId: id });
  };
  const startOne = (): void => {
    if (next >= n) return;
    const i = next++;
    send(new Started(`s-${i}`), `start-${i}`);
  };
  observe((handled) => {
    const id = handled.envelope.id;
    const at = sentAt.get(id);
    if (at === undefined || handledIds.has(id)) return;
    handledIds.add(id);
    latencies.push(performance.now() - at);
    const body = handled.envelope.body as Started | Stepped;
    if (body instanceof Started) send(new Stepped(body.id, 1), `${body.id}-1`);
    else if (body instanceof Stepped && body.step === 1) send(new Stepped(body.id, 2), `${body.id}-2`);
    else if (body instanceof Stepped && body.step === 2) {
      completed++;
      if (completed === n) resolveDone();
      else startOne();
    }
  });
  const t0 = performance.now();
  for (let i = 0; i < Math.min(window, n); i++) startOne();
  await done;
  const seconds = (performance.now() - t0) / 1000;
  const invalid =
    handledIds.size !== 3 * n ? `handled ${handledIds.size} distinct messages, expected ${3 * n}` : undefined;
  return {
    messagesPerSecond: (3 * n) / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    extra: { sagas: n, seconds: Number(seconds.toFixed(2)) },
    invalid,
  };
}

/** Runs workload S on a fresh endpoint built from `parts` (in-memory defaults for the rest). */
export async function runSagaOnEndpoint(
  options: BenchOptions,
  parts: Pick<EndpointOptions, 'transport' | 'sagaStore' | 'timeoutStore'> = {},
): Promise<Sample> {
  const listeners: ((h: HandledMessage) => void)[] = [];
  const endpoint = new Endpoint({
    name: 'bench',
    sagas: [BenchSaga],
    transport: new InMemoryTransport(),
    ...parts,
    logger: silentLogger,
    concurrency: options.concurrency,
    onHandled: (h) => listeners.forEach((l) => l(h)),
  });
  await endpoint.start();
  try {
    return await runSagaWorkload(endpoint.bus, (l) => listeners.push(l), options.n, options.concurrency * 8);
  } finally {
    await endpoint.stop();
  }
}

export function memoryRows(options: BenchOptions): BenchRow[] {
  return [
    {
      name: 'memory/saga',
      description: 'Longhaul in memory, one process: saga messages/s (start + 2 follow-ups, completes)',
      run: () => runSagaOnEndpoint(options),
    },
  ];
}
