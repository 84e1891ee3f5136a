/**
 * CI's bounded long-lived chaos run: the harness (run.ts) with `--scenario long-lived` as a child
 * process: 2 account sagas that each handle 1,000 deposits (plus duplicates of every age, many
 * hundreds of messages old), the `audit` destination unroutable for 30 s, and every fault kind,
 * against the local RabbitMQ and the harness's own FerretDB instance on ports 27058/27059 (not the
 * orders run's 27038, nor a manual run's 27028). A fixed seed fixes the load and the fault plan
 * (LONGHAUL_LONG_LIVED_SEED to vary it). LONGHAUL_LONG_LIVED_QUIESCE (seconds, default 220) extends
 * the wait for quiescence on a slow store: on the shared 2-core machine with FerretDB it needed 699 s.
 * See docs/reliability.md.
 */
import { describe, expect, it } from 'vitest';
import { harnessReport } from './spawn-harness.js';

const SEED = process.env.LONGHAUL_LONG_LIVED_SEED ?? '20261201';
const ACCOUNTS = 2;
const DEPOSITS = 1000;
/** Seconds the harness waits for quiescence after the last fault (see docs/reliability.md). */
const QUIESCE_S = Number(process.env.LONGHAUL_LONG_LIVED_QUIESCE ?? '220');
const LIMIT_MS = 140_000 + QUIESCE_S * 1000;

interface Report {
  seed: number;
  faults: Record<string, number>;
  schedulerKillsHoldingLeases: number;
  storeDowntimeMs: number;
  appliedPerAccount: Record<string, number>;
  depositsPublished: number;
  duplicateAges: Record<string, number>;
  effectsLost: number;
  effectsAppliedTwice: number;
  unroutableSeconds?: number;
  deadLetters: { listed: number; replayed: number };
  errorQueue: number;
  outboxPending: number;
  timeoutsLeft: number;
  messagesLeftInQueues: number;
  violations: string[];
}

function runChaos(args: string[]): Promise<Report> {
  return harnessReport<Report>(args, { storePort: '27058', limitMs: LIMIT_MS });
}

describe('chaos: long-lived', () => {
  it(
    `${ACCOUNTS} sagas × ${DEPOSITS} messages, old duplicates, an unroutable window, every fault: exactly once, dead letters replayed`,
    async () => {
      const report = await runChaos([
        '--scenario',
        'long-lived',
        '--accounts',
        String(ACCOUNTS),
        '--deposits',
        String(DEPOSITS),
        '--unroutable',
        '30',
        '--workers',
        '3',
        '--seconds',
        '60',
        '--seed',
        SEED,
        '--quiesce-timeout',
        String(QUIESCE_S),
      ]);
      for (const kind of ['worker-kill', 'broker-close', 'store-restart', 'duplicates', 'scheduler-kill'])
        expect(report.faults[kind], kind).toBeGreaterThanOrEqual(1);
      expect(report.schedulerKillsHoldingLeases).toBeGreaterThanOrEqual(1);
      expect(report.storeDowntimeMs).toBeGreaterThan(1000);
      // Long-lived: every instance handled its 1,000 deposits, with duplicates 300+ messages old.
      expect(Object.values(report.appliedPerAccount)).toEqual(Array(ACCOUNTS).fill(DEPOSITS));
      expect(report.duplicateAges['age >= 300']).toBeGreaterThanOrEqual(10);
      expect(report.effectsLost).toBe(0);
      expect(report.effectsAppliedTwice).toBe(0);
      // The unroutable window dead-lettered entries, and all of them were delivered after replay.
      expect(report.unroutableSeconds).toBeGreaterThanOrEqual(30);
      expect(report.deadLetters.listed).toBeGreaterThan(0);
      expect(report.deadLetters.replayed).toBe(report.deadLetters.listed);
      expect(report.errorQueue).toBe(0);
      expect(report.outboxPending).toBe(0);
      expect(report.timeoutsLeft).toBe(0);
      expect(report.messagesLeftInQueues).toBe(0);
    },
    LIMIT_MS,
  );
});
