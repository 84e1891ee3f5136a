/**
 * The faults a chaos run injects, and the plan of when (seeded, so a seed reproduces the plan; the
 * interleaving with the workers' progress still varies from run to run).
 */
import { type ChaosBroker, type ChaosStore, type WorkerEnv, WorkerProcess } from './cluster.js';
import { type ChaosCluster } from './rabbitmq-cluster.js';

export type FaultKind =
  'worker-kill' | 'broker-close' | 'store-restart' | 'duplicates' | 'scheduler-kill' | 'node-stop';
export const FAULT_KINDS: readonly FaultKind[] = [
  'worker-kill',
  'broker-close',
  'store-restart',
  'duplicates',
  'scheduler-kill',
  'node-stop',
];
/** The kinds a run on the local broker injects (`node-stop` needs a cluster). */
export const SINGLE_BROKER_KINDS: readonly FaultKind[] = FAULT_KINDS.filter((k) => k !== 'node-stop');

/** Parses `--faults a,b,...` (every name a known kind, node-stop only with a cluster). */
export function parseFaultKinds(value: string, cluster: boolean): FaultKind[] {
  const kinds = value.split(',').map((k) => k.trim());
  for (const kind of kinds) {
    if (!FAULT_KINDS.includes(kind as FaultKind))
      throw new Error(`bad argument faults: unknown kind '${kind}' (known: ${FAULT_KINDS.join(', ')})`);
    if (kind === 'node-stop' && !cluster)
      throw new Error('bad argument faults: node-stop needs --rabbitmq-cluster');
  }
  return kinds as FaultKind[];
}

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
 * Every kind of `kinds` at least once, more in longer runs, at random moments of the fault window
 * (`seconds`): one per 30/40/60/15/60/15 s of each kind, times `spacing` (the long run uses 3: at
 * spacing 1 a 15-minute run kills a worker every few seconds, faster than a replacement gets
 * going). Scheduler kills fall while sagas are still starting, so slow orders' timeouts are coming
 * due. Node stops are carried out one after the other in a lane of their own (see run.ts), so a
 * stop planned while another node is still down waits for it.
 */
export function planFaults(
  seconds: number,
  startWindowMs: number,
  random: () => number,
  spacing = 1,
  kinds: readonly FaultKind[] = SINGLE_BROKER_KINDS,
): PlannedFault[] {
  const windowMs = seconds * 1000;
  const per: Record<FaultKind, number> = {
    'worker-kill': 30 * spacing,
    'broker-close': 40 * spacing,
    'store-restart': 60 * spacing,
    duplicates: 15 * spacing,
    'scheduler-kill': 60 * spacing,
    'node-stop': 15 * spacing,
  };
  const plan: PlannedFault[] = [];
  for (const kind of kinds) {
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
  /** The run's RabbitMQ cluster (cluster mode only). */
  cluster?: ChaosCluster;
  /** The scenario's `duplicates` fault (see scenario-driver.ts). */
  duplicates: (counts: Record<string, number>) => Promise<void>;
  log: (line: string) => void;
}

export interface FaultTally {
  injected: Record<FaultKind, number>;
  /** Scheduler kills that happened while the victim held at least one timeout lease. */
  schedulerKillsHoldingLeases: number;
  leasesHeldAtKill: number;
  connectionsClosed: number;
  storeDowntimeMs: number;
  /** Node stops that were a SIGKILL of the node's VM (the others: `rabbitmqctl stop`). */
  nodeKills: number;
  /** From each node stop to the node's rejoining the cluster, summed. */
  nodeDowntimeMs: number;
  /** Node stops by node number. */
  nodeStops: Record<string, number>;
  /** Messages re-sent with their original ids, by what the scenario calls them. */
  duplicatesInjected: Record<string, number>;
  generation: number;
}

export function newTally(): FaultTally {
  return {
    injected: {
      'worker-kill': 0,
      'broker-close': 0,
      'store-restart': 0,
      duplicates: 0,
      'scheduler-kill': 0,
      'node-stop': 0,
    },
    schedulerKillsHoldingLeases: 0,
    leasesHeldAtKill: 0,
    connectionsClosed: 0,
    storeDowntimeMs: 0,
    nodeKills: 0,
    nodeDowntimeMs: 0,
    nodeStops: {},
    duplicatesInjected: {},
    generation: 0,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function pick<T>(items: readonly T[], random: () => number): T | undefined {
  return items.length === 0 ? undefined : items[Math.floor(random() * items.length)];
}

export function sample<T>(items: readonly T[], n: number, random: () => number): T[] {
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
      await ctx.duplicates(tally.duplicatesInjected);
      return;
    case 'node-stop': {
      const cluster = ctx.cluster;
      if (!cluster) throw new Error('node-stop needs a cluster');
      const node = cluster.nodes[Math.floor(ctx.random() * cluster.nodes.length)]!;
      // Half of them a crash (SIGKILL of the VM), half a clean stop.
      const kill = ctx.random() < 0.5;
      const started = Date.now();
      await cluster.stopNode(node.n, kill);
      ctx.log(`  ${kill ? 'killed' : 'stopped'} node ${node.n} (${node.name})`);
      await sleep(2000 + ctx.random() * 6000);
      await cluster.startNode(node.n);
      if (kill) tally.nodeKills++;
      tally.nodeStops[node.n] = (tally.nodeStops[node.n] ?? 0) + 1;
      tally.nodeDowntimeMs += Date.now() - started;
      ctx.log(`  node ${node.n} back in the cluster after ${Date.now() - started} ms`);
      return;
    }
  }
}
