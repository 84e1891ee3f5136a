/**
 * The faults a chaos run injects, and the plan of when (seeded, so a seed reproduces the plan; the
 * interleaving with the workers' progress still varies from run to run).
 */
import { type Db } from 'mongodb';
import { type Bus } from '../../src/index.js';
import { type ChaosBroker, type ChaosStore, type WorkerEnv, WorkerProcess } from './cluster.js';
import { EFFECTS, type EffectDocument } from './ledger.js';
import { ChargePayment, OrderCompleted, OrderPlaced, ShipOrder } from './scenario.js';

export type FaultKind = 'worker-kill' | 'broker-close' | 'store-restart' | 'duplicates' | 'scheduler-kill';
export const FAULT_KINDS: readonly FaultKind[] = [
  'worker-kill',
  'broker-close',
  'store-restart',
  'duplicates',
  'scheduler-kill',
];

/** mulberry32: a small seeded PRNG returning [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PlannedFault {
  kind: FaultKind;
  atMs: number;
}

/**
 * Every kind at least once, more in longer runs, at random moments of the fault window (`seconds`):
 * one per 30/40/60/15/60 s of each kind, times `spacing` (the long run uses 3: at spacing 1 a
 * 15-minute run kills a worker every few seconds, faster than a replacement gets going).
 * Scheduler kills fall while sagas are still starting, so slow orders' timeouts are coming due.
 */
export function planFaults(
  seconds: number,
  startWindowMs: number,
  random: () => number,
  spacing = 1,
): PlannedFault[] {
  const windowMs = seconds * 1000;
  const per: Record<FaultKind, number> = {
    'worker-kill': 30 * spacing,
    'broker-close': 40 * spacing,
    'store-restart': 60 * spacing,
    duplicates: 15 * spacing,
    'scheduler-kill': 60 * spacing,
  };
  const plan: PlannedFault[] = [];
  for (const kind of FAULT_KINDS) {
    const count = Math.max(1, Math.floor(seconds / per[kind]));
    const [from, to] =
      kind === 'scheduler-kill'
        ? [0.15 * startWindowMs, 0.9 * startWindowMs]
        : [0.05 * windowMs, 0.95 * windowMs];
    for (let i = 0; i < count; i++) plan.push({ kind, atMs: Math.round(from + random() * (to - from)) });
  }
  return plan.sort((a, b) => a.atMs - b.atMs);
}

export interface FaultContext {
  random: () => number;
  workers: WorkerProcess[];
  workerEnv: WorkerEnv;
  broker: ChaosBroker;
  store: ChaosStore;
  db: Db;
  bus: Bus;
  endpoint: string;
  /** Orders published so far (id → total). */
  placed: Map<string, number>;
  log: (line: string) => void;
}

export interface FaultTally {
  injected: Record<FaultKind, number>;
  /** Scheduler kills that happened while the victim held at least one timeout lease. */
  schedulerKillsHoldingLeases: number;
  leasesHeldAtKill: number;
  connectionsClosed: number;
  storeDowntimeMs: number;
  duplicatesInjected: {
    orderPlaced: number;
    chargePayment: number;
    shipOrder: number;
    orderCompleted: number;
  };
  generation: number;
}

export function newTally(): FaultTally {
  return {
    injected: { 'worker-kill': 0, 'broker-close': 0, 'store-restart': 0, duplicates: 0, 'scheduler-kill': 0 },
    schedulerKillsHoldingLeases: 0,
    leasesHeldAtKill: 0,
    connectionsClosed: 0,
    storeDowntimeMs: 0,
    duplicatesInjected: { orderPlaced: 0, chargePayment: 0, shipOrder: 0, orderCompleted: 0 },
    generation: 0,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function pick<T>(items: readonly T[], random: () => number): T | undefined {
  return items.length === 0 ? undefined : items[Math.floor(random() * items.length)];
}

function sample<T>(items: readonly T[], n: number, random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy.slice(0, n);
}

/** Retries a bus call through broker faults (bounded), with the same message id each time. */
export async function persistently(what: () => Promise<unknown>, attempts = 40): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await what();
      return;
    } catch (error) {
      if (attempt >= attempts) throw error;
      await sleep(Math.min(2000, 100 * attempt));
    }
  }
}

async function replaceWorker(ctx: FaultContext, tally: FaultTally, victim: WorkerProcess): Promise<void> {
  const slot = ctx.workers.indexOf(victim);
  await sleep(500 + ctx.random() * 1500);
  const name = `${victim.name.split('.')[0]}.${++tally.generation}`;
  ctx.workers[slot] = await WorkerProcess.spawn(name, ctx.workerEnv);
  ctx.log(`  restarted ${victim.name} as ${name}`);
}

async function injectDuplicates(ctx: FaultContext, tally: FaultTally): Promise<void> {
  const { bus, random, endpoint } = ctx;
  for (const [orderId, total] of sample([...ctx.placed], 20, random)) {
    await persistently(() =>
      bus.publish(new OrderPlaced(orderId, total), { messageId: `placed-${orderId}` }),
    );
    tally.duplicatesInjected.orderPlaced++;
  }
  const effects = ctx.db.collection<EffectDocument>(EFFECTS);
  for (const kind of ['charge', 'ship', 'completed'] as const) {
    // No sort: on FerretDB a sorted read decodes the whole (growing) ledger; an unsorted one stops
    // after 300. Re-sending old effects' messages tests the same suppression.
    const applied = await effects.find({ kind }).limit(300).toArray();
    for (const effect of sample(applied, 10, random)) {
      const messageId = effect._id;
      if (kind === 'charge') {
        const total = ctx.placed.get(effect.orderId) ?? 1;
        await persistently(() =>
          bus.send(new ChargePayment(effect.orderId, total), { messageId, to: endpoint }),
        );
        tally.duplicatesInjected.chargePayment++;
      } else if (kind === 'ship') {
        await persistently(() => bus.send(new ShipOrder(effect.orderId), { messageId, to: endpoint }));
        tally.duplicatesInjected.shipOrder++;
      } else {
        await persistently(() => bus.publish(new OrderCompleted(effect.orderId), { messageId }));
        tally.duplicatesInjected.orderCompleted++;
      }
    }
  }
}

/** Carries out one fault; resolves once the system is back in its normal configuration. */
export async function inject(kind: FaultKind, ctx: FaultContext, tally: FaultTally): Promise<void> {
  tally.injected[kind]++;
  switch (kind) {
    case 'worker-kill': {
      const victim = pick(
        ctx.workers.filter((w) => w.alive),
        ctx.random,
      );
      if (!victim) return;
      ctx.log(`  SIGKILL ${victim.name}`);
      await victim.kill();
      await replaceWorker(ctx, tally, victim);
      return;
    }
    case 'scheduler-kill': {
      const victim = pick(
        ctx.workers.filter((w) => w.alive),
        ctx.random,
      );
      if (!victim) return;
      victim.child.kill('SIGUSR2'); // arm: its next claim of due timeouts is held
      const leased = await victim.waitFor((line) => line.startsWith('leased '), 20_000);
      const held = leased ? Number(leased.slice(7)) : 0;
      if (held > 0) tally.schedulerKillsHoldingLeases++;
      tally.leasesHeldAtKill += held;
      ctx.log(`  SIGKILL ${victim.name} holding ${held} timeout lease(s)`);
      await victim.kill();
      await replaceWorker(ctx, tally, victim);
      return;
    }
    case 'broker-close': {
      const closed = await ctx.broker.closeAllConnections();
      tally.connectionsClosed += closed;
      ctx.log(`  broker closed ${closed} connection(s)`);
      return;
    }
    case 'store-restart': {
      const started = Date.now();
      await ctx.store.stop();
      await sleep(1000 + ctx.random() * 3000);
      await ctx.store.start();
      tally.storeDowntimeMs += Date.now() - started;
      ctx.log(`  store down for ${Date.now() - started} ms`);
      return;
    }
    case 'duplicates':
      await injectDuplicates(ctx, tally);
      return;
  }
}
