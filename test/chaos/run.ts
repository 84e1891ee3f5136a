/**
 * The chaos harness: `npm run chaos -- [--scenario orders|long-lived] --workers K --seconds S
 * [--seed X] [--fault-spacing F] [--faults kind,...] [--rabbitmq-cluster [--cluster-port P]]` plus
 * the scenario's options (`--sagas N` for `orders`; `--accounts A --deposits D --unroutable U` for
 * `long-lived`).
 *
 * With `--rabbitmq-cluster` (orders only) the vhost lives on a 3-node cluster
 * (scripts/rabbitmq-cluster.sh on base port P, default 5701; started for the run and stopped after
 * it, or reused if it runs), the workers get every node's URL and declare quorum queues, and the
 * `node-stop` fault stops a random node and restarts it (one node down at a time).
 *
 * Starts its own FerretDB (scripts/test-store.sh on --store-port/+1) and RabbitMQ vhost, K worker
 * processes running the scenario's saga and handlers on one endpoint queue, then generates the
 * scenario's load over the first 70% of S seconds while injecting faults at seeded random moments
 * of the S seconds; then waits for quiescence and runs the scenario's check (every effect exactly
 * once, nothing left pending). Prints a report (last line `CHAOS-REPORT <json>`); exits 1 on any
 * violation. See docs/reliability.md.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { Endpoint, type Logger, RabbitMqTransport, silentLogger } from '../../src/index.js';
import { ChaosBroker, ChaosStore, type WorkerEnv, WorkerProcess } from './cluster.js';
import {
  FAULT_KINDS,
  type FaultContext,
  type FaultTally,
  inject,
  newTally,
  parseFaultKinds,
  type PlannedFault,
  planFaults,
  seededRandom,
  SINGLE_BROKER_KINDS,
} from './faults.js';
import { longLivedDriver } from './long-lived-driver.js';
import { ordersDriver } from './orders-driver.js';
import { ChaosCluster } from './rabbitmq-cluster.js';
import {
  type DriverSetup,
  type ScenarioDriver,
  type ScenarioName,
  SCENARIOS,
  type ScenarioOutcome,
} from './scenario-driver.js';
import { type WorkerStats } from './worker.js';

const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'orders' },
    sagas: { type: 'string', default: '1000' },
    accounts: { type: 'string', default: '3' },
    deposits: { type: 'string', default: '1000' },
    unroutable: { type: 'string', default: '20' },
    'duplicate-rate': { type: 'string', default: '0.03' },
    workers: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '60' },
    seed: { type: 'string' },
    'slow-fraction': { type: 'string', default: '0.1' },
    overdue: { type: 'string', default: '2s' },
    'store-port': { type: 'string', default: process.env.LONGHAUL_CHAOS_STORE_PORT ?? '27028' },
    'quiesce-timeout': { type: 'string', default: '600' },
    'fault-spacing': { type: 'string', default: '1' },
    faults: { type: 'string' },
    'rabbitmq-cluster': { type: 'boolean', default: false },
    'cluster-port': { type: 'string', default: '5701' },
    keep: { type: 'boolean', default: false },
  },
  allowPositionals: false,
});
const scenario = args.scenario as ScenarioName;
if (!SCENARIOS.includes(scenario)) throw new Error(`bad argument scenario: ${args.scenario}`);
const K = Number(args.workers);
const S = Number(args.seconds);
const seed = args.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(args.seed);
const quiesceMs = Number(args['quiesce-timeout']) * 1000;
for (const [name, value] of Object.entries({ K, S, seed, quiesceMs }))
  if (!Number.isInteger(value) || value < 1) throw new Error(`bad argument ${name}: ${value}`);

const positive = (name: 'sagas' | 'accounts' | 'deposits' | 'unroutable'): number => {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`bad argument ${name}: ${args[name]}`);
  return value;
};
const log = (line: string): void => void process.stdout.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const random = seededRandom(seed);
const tag = randomUUID().slice(0, 8);
const endpointName = 'shop';
const prefix = `chaos-${tag}.`;
const database = `lh_chaos_${tag}`;
const store = new ChaosStore(Number(args['store-port']));
const cluster = args['rabbitmq-cluster'] ? new ChaosCluster(Number(args['cluster-port'])) : undefined;
if (cluster && scenario !== 'orders')
  throw new Error('bad argument rabbitmq-cluster: runs the orders scenario only');
const vhost = `longhaul-chaos-${tag}`;
let broker: ChaosBroker | undefined;
const logDir = `/tmp/longhaul-chaos-${tag}`;
const startWindowMs = Math.round(S * 700);
const spacing = Number(args['fault-spacing']);
if (!(spacing >= 1)) throw new Error(`bad argument fault-spacing: ${args['fault-spacing']}`);
const kinds =
  args.faults === undefined
    ? cluster
      ? FAULT_KINDS
      : SINGLE_BROKER_KINDS
    : parseFaultKinds(args.faults, cluster !== undefined);
const plan = planFaults(S, startWindowMs, random, spacing, kinds);

log(
  `chaos: run ${tag}; worker logs in ${logDir}; store on port ${store.port}; vhost ${vhost}` +
    (cluster ? ` on the RabbitMQ cluster at base port ${cluster.port}` : ''),
);

const began = Date.now();
const workers: WorkerProcess[] = [];
const tally: FaultTally = newTally();
let scenarioDriver: ScenarioDriver | undefined;
let mongo: MongoClient | undefined;
let driver: { endpoint: Endpoint; transport: RabbitMqTransport } | undefined;
let exitCode = 1;

/** Injects `faults` one after the other, each at its planned moment or as soon as the previous ends. */
async function injectFaults(faults: readonly PlannedFault[], ctx: FaultContext): Promise<void> {
  for (const fault of faults) {
    const wait = faultsBegan + fault.atMs - Date.now();
    if (wait > 0) await sleep(wait);
    log(`chaos: +${((Date.now() - began) / 1000).toFixed(1)}s ${fault.kind}`);
    await inject(fault.kind, ctx, tally);
  }
}

function sumStats(): WorkerStats {
  const total: Record<string, number> = {};
  for (const w of allWorkers)
    for (const [k, v] of Object.entries(w.stats ?? {})) total[k] = (total[k] ?? 0) + Number(v);
  return total as unknown as WorkerStats;
}

function fileLogger(name: string): Logger {
  mkdirSync(logDir, { recursive: true });
  const out = createWriteStream(`${logDir}/${name}.log`, { flags: 'a' });
  const write = (level: string, message: string, fields?: Record<string, unknown>): void =>
    void out.write(
      `${new Date().toISOString()} ${name} ${level} ${message} ${fields ? JSON.stringify(fields) : ''}\n`,
    );
  return {
    debug: () => {},
    info: () => {},
    warn: (message, fields) => write('WARN', message, fields),
    error: (message, fields) => write('ERROR', message, fields),
  };
}

const ordersScenario = (setup: DriverSetup): ScenarioDriver =>
  ordersDriver(setup, { sagas: positive('sagas'), slowFraction: Number(args['slow-fraction']) });
const longLivedScenario = (setup: DriverSetup): ScenarioDriver =>
  longLivedDriver(setup, {
    accounts: positive('accounts'),
    deposits: positive('deposits'),
    unroutableSeconds: positive('unroutable'),
    duplicateRate: Number(args['duplicate-rate']),
    storeUrl: store.url,
    database,
    logger: fileLogger('audit'),
  });

const allWorkers: WorkerProcess[] = [];
let faultsBegan = 0;

/** The 1-minute load average, sampled every 10 s of the run (the machine may be shared). */
const loadSamples: number[] = [];
const sampleLoad = (): void => {
  const first = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  if (first !== undefined) loadSamples.push(Number(first));
};
const loadSampler = setInterval(sampleLoad, 10_000);

async function main(): Promise<void> {
  sampleLoad();
  await Promise.all([store.start(), cluster?.start()]);
  broker = cluster
    ? new ChaosBroker(
        vhost,
        cluster.nodes.map((node) => node.url),
        () => cluster.controlNodes(),
      )
    : new ChaosBroker(vhost, process.env.RABBITMQ_URL);
  await broker.create();
  const queueType = cluster ? 'quorum' : 'classic';
  mongo = new MongoClient(store.url, { serverSelectionTimeoutMS: 15_000 });
  const db = mongo.db(database);
  const env: WorkerEnv = {
    rabbitUrls: broker.urls,
    queueType,
    mongoUrl: store.url,
    database,
    prefix,
    endpoint: endpointName,
    overdue: args.overdue!,
    logDir,
    scenario,
  };
  const spawned = await Promise.all(
    Array.from({ length: K }, (_, i) => WorkerProcess.spawn(`w${i + 1}`, env)),
  );
  workers.push(...spawned);
  const transport = new RabbitMqTransport({
    url: broker.urls,
    queueType,
    prefix,
    connectionName: `${prefix}driver`,
    logger: silentLogger,
    reconnect: { initialDelay: '100ms', maxDelay: '2s' },
  });
  const endpoint = new Endpoint({ name: `${endpointName}-driver`, transport, logger: silentLogger });
  await endpoint.start();
  driver = { endpoint, transport };
  const trackedWorkers = new Proxy(workers, {
    set(target, key, value: WorkerProcess) {
      if (value instanceof WorkerProcess) allWorkers.push(value);
      return Reflect.set(target, key, value);
    },
  });
  allWorkers.push(...workers);
  const setup: DriverSetup = {
    bus: endpoint.bus,
    client: mongo,
    db,
    broker,
    store,
    random,
    log,
    prefix,
    endpoint: endpointName,
    began,
    loadWindowMs: startWindowMs,
    faultWindowMs: S * 1000,
    logDir,
  };
  const driverOf = scenario === 'orders' ? ordersScenario : longLivedScenario;
  const scenarioRun = (scenarioDriver = driverOf(setup));
  log(`chaos: seed ${seed}, scenario ${scenario}: ${scenarioRun.describe()}; ${K} workers, ${S}s`);
  await scenarioRun.start();
  const ctx: FaultContext = {
    random,
    workers: trackedWorkers,
    workerEnv: env,
    broker,
    store,
    cluster,
    duplicates: (counts) => scenarioRun.duplicates(counts),
    log,
  };
  faultsBegan = Date.now();
  // Node stops in a lane of their own: one node down at a time, while the other faults go on.
  const lanes = [plan.filter((f) => f.kind !== 'node-stop'), plan.filter((f) => f.kind === 'node-stop')];
  await Promise.all([scenarioRun.generate(), ...lanes.map((lane) => injectFaults(lane, ctx))]);
  const faultsEnded = Date.now();
  log(`chaos: +${((faultsEnded - began) / 1000).toFixed(1)}s all the load generated, all faults injected`);

  let last: unknown;
  let quiet = 0;
  let polls = 0;
  while (Date.now() - faultsEnded < quiesceMs) {
    try {
      const polled = await scenarioRun.poll();
      last = polled.summary;
      quiet = polled.settled ? quiet + 1 : 0;
    } catch (error) {
      log(`chaos: snapshot failed (${(error as Error).message}); retrying`);
      quiet = 0;
    }
    if (quiet >= 2) break; // settled twice in a row, 3 s apart
    if (last !== undefined && ++polls % 10 === 0) log(`chaos: waiting: ${JSON.stringify(last)}`);
    await sleep(3000);
  }
  const quiescedAt = Date.now();
  await sleep(2000); // anything still in flight would show now
  const result = await scenarioRun.finish();
  if (quiet < 2)
    result.violations.unshift(`no quiescence within ${quiesceMs / 1000}s: ${JSON.stringify(last)}`);
  report(result, {
    seconds: (quiescedAt - began) / 1000,
    afterFaults: (quiescedAt - faultsEnded) / 1000,
  });
  exitCode = result.violations.length === 0 ? 0 : 1;
}

function report(result: ScenarioOutcome, time: { seconds: number; afterFaults: number }): void {
  const stats = sumStats();
  const load = loadSamples.length === 0 ? [0] : loadSamples;
  const loadAverage = {
    samples: load.length,
    min: Math.min(...load),
    mean: Number((load.reduce((a, b) => a + b, 0) / load.length).toFixed(2)),
    max: Math.max(...load),
  };
  const full = {
    seed,
    scenario,
    workers: K,
    seconds: S,
    faultSpacing: spacing,
    rabbitmqCluster: cluster ? { basePort: cluster.port, nodes: cluster.nodes.length } : false,
    faults: tally.injected,
    nodeKills: tally.nodeKills,
    nodeStops: tally.nodeStops,
    nodeDowntimeMs: tally.nodeDowntimeMs,
    loadAverage,
    schedulerKillsHoldingLeases: tally.schedulerKillsHoldingLeases,
    leasesHeldAtKill: tally.leasesHeldAtKill,
    connectionsClosed: tally.connectionsClosed,
    storeDowntimeMs: tally.storeDowntimeMs,
    duplicatesInjected: tally.duplicatesInjected,
    workerStats: stats,
    ...result.json,
    violations: result.violations,
    runSeconds: time.seconds,
    quiescenceAfterFaultsSeconds: time.afterFaults,
  };
  const line = (label: string, value: unknown): void => log(`  ${label.padEnd(44)} ${String(value)}`);
  log('\nchaos report');
  line('seed', seed);
  line('scenario', scenario);
  line('workers', K);
  line('RabbitMQ', cluster ? `3-node cluster at base port ${cluster.port}, quorum queues` : 'one broker');
  for (const kind of kinds) line(`faults: ${kind}`, tally.injected[kind]);
  if (kinds.includes('node-stop')) {
    line('  node stops by node', JSON.stringify(tally.nodeStops));
    line('  of them SIGKILLs of the node (others clean)', tally.nodeKills);
    line('  node downtime until rejoined (ms, summed)', tally.nodeDowntimeMs);
  }
  line(
    '  scheduler kills holding leases (leases)',
    `${tally.schedulerKillsHoldingLeases} (${tally.leasesHeldAtKill})`,
  );
  line('  connections closed by the broker', tally.connectionsClosed);
  line('  store downtime (ms)', tally.storeDowntimeMs);
  line('  duplicates injected', JSON.stringify(tally.duplicatesInjected));
  line('duplicates suppressed by saga inboxes (≥)', stats.inboxDuplicates ?? 0);
  line('messages ignored by completed sagas (≥)', stats.completedIgnored ?? 0);
  line('commit conflicts retried (≥)', stats.conflicts ?? 0);
  line('handler failures retried (≥)', stats.handlerFailures ?? 0);
  line('outbox entries dispatched by the sweeper (≥)', stats.sweptEntries ?? 0);
  line('inbox ids evicted inside the dedupe window (≥)', stats.inboxEvictedInWindow ?? 0);
  for (const [label, value] of result.lines) line(label, value);
  line('time to quiescence (s, from start)', time.seconds.toFixed(1));
  line('time to quiescence (s, after last fault)', time.afterFaults.toFixed(1));
  line(
    'load average (1 min; min / mean / max)',
    `${loadAverage.min} / ${loadAverage.mean} / ${loadAverage.max}`,
  );
  log(result.violations.length === 0 ? 'PASS' : `FAIL:\n  ${result.violations.join('\n  ')}`);
  log(`CHAOS-REPORT ${JSON.stringify(full)}`);
}

async function cleanup(): Promise<void> {
  clearInterval(loadSampler);
  await Promise.all(workers.map((w) => w.stop()));
  try {
    await scenarioDriver?.stop();
  } catch (error) {
    log(`chaos: cleanup: scenario failed: ${(error as Error).message}`);
  }
  if (args.keep)
    return log(`chaos: --keep: left database ${database}, vhost ${vhost}, store (and cluster) running`);
  const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (error) {
      log(`chaos: cleanup: ${what} failed: ${(error as Error).message}`);
    }
  };
  await step('driver', async () => {
    await driver?.endpoint.stop();
    await driver?.transport.deleteDeclaredTopology();
    await driver?.transport.close();
  });
  await step('database', async () => {
    await mongo?.db(database).dropDatabase();
    await mongo?.close();
  });
  await step('vhost', async () => broker?.delete());
  await step('store', () => store.stop());
  await step('cluster', async () => cluster?.stop());
}

// Asked to stop (a CI backstop, Ctrl-C): no worker may outlive the run.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    log(`chaos: ${signal}: killing the workers, stopping the store and exiting`);
    for (const w of allWorkers) if (w.alive) w.child.kill('SIGKILL');
    // The store too (within 5 s): a store left running would be reused by the next run, and one
    // started by another checkout is not this one's to stop in its store-restart fault. A cluster
    // this run started as well (within 20 s).
    const deadline = new Promise((resolve) => setTimeout(resolve, cluster ? 20_000 : 5_000));
    const stops = Promise.all([store.stop().catch(() => undefined), cluster?.stop().catch(() => undefined)]);
    void Promise.race([stops, deadline]).then(() => process.exit(1));
  });
}

try {
  await main();
} catch (error) {
  log(`chaos: aborted: ${(error as Error).stack ?? String(error)}`);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
