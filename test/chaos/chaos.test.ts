/**
 * CI's bounded chaos run: the harness (run.ts) as a child process, with every fault kind, against
 * the local RabbitMQ and the harness's own FerretDB instance (on ports 27038/27039, so it never
 * disturbs the default test store nor a manual `npm run chaos` on 27028). A fixed seed fixes the
 * orders and the fault plan (LONGHAUL_CHAOS_SEED to vary it); how the faults interleave with the
 * workers still differs from run to run. See docs/reliability.md.
 */
import { describe, expect, it } from 'vitest';
import { harnessReport } from './spawn-harness.js';

const SAGAS = Number(process.env.LONGHAUL_CHAOS_SAGAS ?? '1000');
const SEED = process.env.LONGHAUL_CHAOS_SEED ?? '20261123';
const LIMIT_MS = 290_000;

interface Report {
  seed: number;
  faults: Record<string, number>;
  schedulerKillsHoldingLeases: number;
  storeDowntimeMs: number;
  sagas: { expected: number; completed: number };
  effectsLost: number;
  effectsAppliedTwice: number;
  errorQueue: number;
  outboxPending: number;
  timeoutsUndelivered: number;
  timeoutsLeaked: number;
  messagesLeftInQueues: number;
  violations: string[];
}

function runChaos(args: string[]): Promise<Report> {
  return harnessReport<Report>(args, { storePort: '27038', limitMs: LIMIT_MS });
}

describe('chaos', () => {
  it(
    `${SAGAS} order sagas on 3 workers under every fault kind: every effect exactly once, nothing left pending`,
    async () => {
      const report = await runChaos([
        '--sagas',
        String(SAGAS),
        '--workers',
        '3',
        '--seconds',
        '60',
        '--seed',
        SEED,
        '--quiesce-timeout',
        '150',
      ]);
      for (const kind of ['worker-kill', 'broker-close', 'store-restart', 'duplicates', 'scheduler-kill'])
        expect(report.faults[kind], kind).toBeGreaterThanOrEqual(1);
      expect(report.schedulerKillsHoldingLeases).toBeGreaterThanOrEqual(1);
      expect(report.storeDowntimeMs).toBeGreaterThan(1000);
      expect(report.sagas.completed).toBe(SAGAS);
      expect(report.effectsLost).toBe(0);
      expect(report.effectsAppliedTwice).toBe(0);
      expect(report.errorQueue).toBe(0);
      expect(report.outboxPending).toBe(0);
      expect(report.timeoutsUndelivered + report.timeoutsLeaked).toBe(0);
      expect(report.messagesLeftInQueues).toBe(0);
    },
    LIMIT_MS,
  );
});
