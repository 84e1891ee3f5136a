/**
 * The start-semantics scenario (issue 14, item 4), written once and run on the in-memory store
 * (test/unit/start-semantics.test.ts) and on FerretDB (test/integration/mongodb/start-semantics.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import {
  Command,
  Endpoint,
  Event,
  Handles,
  Headers,
  InMemoryTransport,
  type Logger,
  Saga,
  type SagaContext,
  type SagaStore,
  StartedBy,
  type TimeoutStore,
  VirtualClock,
} from '../../src/index.js';
import { codec, envelopeFor } from './endpoint.js';
import { untilQuiet } from './endpoint.js';

@Event('ss.Opened')
export class Opened {
  constructor(readonly key: string) {}
}
@Event('ss.Closed')
export class Closed {
  constructor(readonly key: string) {}
}
@Command('ss.Charge')
export class Charge {
  constructor(readonly key: string) {}
}

interface Runs {
  charges: number;
}

/** Each saga charges on start; they differ only in their start policies. */
@Saga('ss.Defaults')
export class Defaults {
  @StartedBy(Opened, { correlateBy: (m) => m.key })
  async opened(m: Opened, ctx: SagaContext<Runs>): Promise<void> {
    ctx.state = { charges: (ctx.state?.charges ?? 0) + 1 };
    await ctx.send(new Charge(m.key));
  }
  @Handles(Closed, { correlateBy: (m) => m.key })
  closed(_m: Closed, ctx: SagaContext<Runs>): void {
    ctx.complete();
  }
}

@Saga('ss.Strict')
export class Strict {
  @StartedBy(Opened, { correlateBy: (m) => m.key, onExisting: 'error', onCompleted: 'error' })
  async opened(m: Opened, ctx: SagaContext<Runs>): Promise<void> {
    ctx.state = { charges: (ctx.state?.charges ?? 0) + 1 };
    await ctx.send(new Charge(m.key));
  }
  @Handles(Closed, { correlateBy: (m) => m.key })
  closed(_m: Closed, ctx: SagaContext<Runs>): void {
    ctx.complete();
  }
}

@Saga('ss.Recurring')
export class Recurring {
  @StartedBy(Opened, { correlateBy: (m) => m.key, onExisting: 'handle', onCompleted: 'restart' })
  async opened(m: Opened, ctx: SagaContext<Runs & { fresh: boolean[] }>): Promise<void> {
    const before = ctx.isNew ? { charges: 0, fresh: [] } : ctx.state;
    ctx.state = { charges: before.charges + 1, fresh: [...before.fresh, ctx.isNew] };
    await ctx.send(new Charge(m.key));
  }
  @Handles(Closed, { correlateBy: (m) => m.key })
  closed(_m: Closed, ctx: SagaContext<Runs>): void {
    ctx.complete();
  }
}

/** A logger that keeps every line. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (message: string): void => void lines.push(message);
  return { lines, debug: log, info: log, warn: log, error: log };
}

export interface StartRig {
  endpoint: Endpoint;
  transport: InMemoryTransport;
  store: SagaStore;
  logger: ReturnType<typeof recordingLogger>;
  deliver(body: object, id?: string): Promise<void>;
  charges(): number;
}

/** One endpoint hosting `saga` on the given stores, with an in-memory transport and virtual clock. */
export async function startRig(
  saga: new () => object,
  stores: { sagaStore: SagaStore; timeoutStore: TimeoutStore },
): Promise<StartRig> {
  const clock = new VirtualClock();
  const transport = new InMemoryTransport(clock);
  const logger = recordingLogger();
  const name = `ss-${randomUUID().slice(0, 8)}`;
  await transport.declareEndpoint({ name: 'billing', subscriptions: [] });
  const endpoint = new Endpoint({
    name,
    sagas: [saga],
    routes: { 'ss.Charge': 'billing' },
    transport,
    ...stores,
    clock,
    logger,
    timeouts: { pollInterval: Infinity },
    outbox: { sweepInterval: Infinity },
    recoverability: { immediateRetries: 0, delays: [] },
  });
  await endpoint.start();
  const idle = (): Promise<void> => untilQuiet(transport);
  return {
    endpoint,
    transport,
    store: stores.sagaStore,
    logger,
    async deliver(body, id) {
      await transport.send(codec.encode(envelopeFor(body, id)), name);
      await idle();
    },
    charges: () =>
      transport.log.filter((r) => r.operation === 'send' && r.message.headers[Headers.type] === 'ss.Charge')
        .length,
  };
}

/** Runs every start-semantics case on stores made by `stores()`. */
export async function runStartSemantics(
  stores: () => Promise<{ sagaStore: SagaStore; timeoutStore: TimeoutStore }>,
  cleanup: (rig: StartRig) => Promise<void>,
): Promise<void> {
  // Defaults: a second start with a new id neither charges again nor changes the state; logged.
  let rig = await startRig(Defaults, await stores());
  await rig.deliver(new Opened('k1'));
  await rig.deliver(new Opened('k1'));
  expect(rig.charges()).toBe(1);
  expect((await rig.store.findByCorrelation('ss.Defaults', 'k1'))?.state).toEqual({ charges: 1 });
  expect(rig.logger.lines.some((l) => l.includes("onExisting: 'ignore'") && l.includes('ss.Opened'))).toBe(
    true,
  );
  // ... and on a completed key (the tombstone), neither restarts nor charges; logged.
  await rig.deliver(new Closed('k1'));
  await rig.deliver(new Opened('k1'));
  expect(rig.charges()).toBe(1);
  expect((await rig.store.findByCorrelation('ss.Defaults', 'k1'))?.status).toBe('completed');
  expect(rig.logger.lines.some((l) => l.includes("onCompleted: 'ignore'"))).toBe(true);
  expect(rig.transport.errors(rig.endpoint.name)).toHaveLength(0);
  await cleanup(rig);

  // 'error': both go to the error queue with the reason; nothing charged twice.
  rig = await startRig(Strict, await stores());
  await rig.deliver(new Opened('k2'));
  await rig.deliver(new Opened('k2'));
  await rig.deliver(new Closed('k2'));
  await rig.deliver(new Opened('k2'));
  expect(rig.charges()).toBe(1);
  expect(rig.transport.errors(rig.endpoint.name).map((m) => m.headers[Headers.errorReason])).toEqual([
    'start-on-existing',
    'start-on-completed',
  ]);
  await cleanup(rig);

  // 'handle' and 'restart': the handler runs again; a restarted instance is new and empty.
  rig = await startRig(Recurring, await stores());
  const first = randomUUID();
  await rig.deliver(new Opened('k3'), first);
  await rig.deliver(new Opened('k3'));
  expect((await rig.store.findByCorrelation('ss.Recurring', 'k3'))?.state).toEqual({
    charges: 2,
    fresh: [true, false],
  });
  await rig.deliver(new Closed('k3'));
  await rig.deliver(new Opened('k3'));
  const restarted = await rig.store.findByCorrelation('ss.Recurring', 'k3');
  expect(restarted).toMatchObject({ status: 'active', state: { charges: 1, fresh: [true] } });
  expect(restarted?.retainUntil).toBeUndefined();
  expect(rig.charges()).toBe(3);
  // The inbox survived the restart: the very first message, redelivered, is still a duplicate.
  await rig.deliver(new Opened('k3'), first);
  expect(rig.charges()).toBe(3);
  await cleanup(rig);
}
