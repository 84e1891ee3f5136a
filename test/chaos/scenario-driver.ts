/**
 * What a chaos scenario gives the harness (run.ts): the load it generates while the faults run,
 * its duplicates fault, its quiescence test and its final check. The faults, the processes, the
 * store, the broker and the report are the harness's, shared by every scenario.
 */
import { type Db, type MongoClient } from 'mongodb';
import { type Bus } from '../../src/index.js';
import { type ChaosBroker, type ChaosStore } from './cluster.js';

/** The scenarios `--scenario` accepts. */
export type ScenarioName = 'orders' | 'long-lived';
export const SCENARIOS: readonly ScenarioName[] = ['orders', 'long-lived'];

/** What the harness hands a scenario when it starts it. */
export interface DriverSetup {
  /** The harness's own endpoint's bus (publishes the load and the duplicates). */
  bus: Bus;
  client: MongoClient;
  /** The run's database on `client`. */
  db: Db;
  broker: ChaosBroker;
  store: ChaosStore;
  /** The run's seeded PRNG (shared with the fault plan). */
  random: () => number;
  log: (line: string) => void;
  /** Queue and exchange name prefix of the run. */
  prefix: string;
  /** The worker endpoint's name. */
  endpoint: string;
  /** When the run began (ms since the epoch) and how long the load is generated (ms). */
  began: number;
  loadWindowMs: number;
  /** The fault window (ms): the load, and anything the scenario injects, fall in it. */
  faultWindowMs: number;
  /** Where the workers' logs are written (one `<worker>.log` each). */
  logDir: string;
}

/** A scenario's result: its violations, its report lines and its part of `CHAOS-REPORT`. */
export interface ScenarioOutcome {
  violations: string[];
  lines: [label: string, value: unknown][];
  json: Record<string, unknown>;
}

/** One quiescence poll: settled (twice in a row ends the wait), and what to print while waiting. */
export interface Poll {
  settled: boolean;
  summary: unknown;
}

/** A scenario, driven by the harness. */
export interface ScenarioDriver {
  /** The run's first line (what is generated). */
  describe(): string;
  /** Called once the workers are up, before the load and the faults. */
  start(): Promise<void>;
  /** Generates the load; resolves when all of it was published. */
  generate(): Promise<void>;
  /** The `duplicates` fault: re-sends messages with their original ids; counts into `counts`. */
  duplicates(counts: Record<string, number>): Promise<void>;
  /** Polled every 3 s after the load and faults, until settled twice in a row. */
  poll(): Promise<Poll>;
  /** The final check, once settled (or given up on). */
  finish(): Promise<ScenarioOutcome>;
  /** Releases what `start` set up (always called). */
  stop(): Promise<void>;
}
