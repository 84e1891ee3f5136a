/**
 * Inline steps (`ctx.step`), in memory on the virtual clock: no broker hop, one checkpoint per
 * step, replay without rerunning, retries (inline and on a durable timer), crashes around the
 * checkpoint, non-determinism and cancellation.
 */
import { describe, expect, it } from 'vitest';
import { SagaTestKit } from '../../src/testing/index.js';
import { replayHistory, type WorkflowOptions } from '../../src/index.js';
import { type SagaCommit } from '../../src/persistence/saga-store.js';
import { type WorkflowState } from '../../src/workflows/history.js';
import { Approved, count, double, runs } from './fixtures.js';
import {
  FailingStep,
  FlakyStep,
  RenamedStep,
  SneakyStep,
  sneakyGate,
  StepThenWait,
  stepCode,
  stepWorkflows,
  StuckStep,
  ThreeSteps,
} from './step-fixtures.js';
import { forgetCachedRuns } from '../../src/workflows/run-cache.js';

const start = (workflowOptions: WorkflowOptions = {}) =>
  SagaTestKit.start({
    name: 'steps',
    workflows: stepWorkflows,
    activities: [double],
    recoverability: { immediateRetries: 2 },
    workflowOptions,
  });

/** Makes the store's commits fail (a crash at that write) where `when` says so. */
function failCommits(kit: SagaTestKit, when: (commit: SagaCommit, n: number) => boolean): { failed: number } {
  const store = kit.sagaStore;
  const commit = store.commit.bind(store);
  const seen = { failed: 0, n: 0 };
  store.commit = async (c: SagaCommit) => {
    seen.n++;
    if (when(c, seen.n)) {
      seen.failed++;
      throw new Error('simulated crash at this write');
    }
    return commit(c);
  };
  return seen;
}

const sent = (kit: SagaTestKit, type: string) =>
  kit.transport.log.filter((r) => r.message.headers['longhaul.type'] === type).length;

const history = (commit: SagaCommit) => (commit.record.state as WorkflowState | null)?.history ?? [];

describe('inline steps (in memory)', () => {
  it('runs three steps in the workflow’s worker: one checkpoint each, no broker message for them', async () => {
    const kit = await start();
    runs.clear();
    const commits: SagaCommit[] = [];
    failCommits(kit, (c) => (commits.push(structuredClone(c)), false));
    await kit.startWorkflow(ThreeSteps, { key: 't', n: 4 }, { id: 'three' });
    expect(await kit.workflows.status('three')).toMatchObject({ status: 'completed', result: 110 });
    expect([count('a:t'), count('b:t'), count('c:t')]).toEqual([1, 1, 1]);
    expect(sent(kit, 'longhaul.workflow.ExecuteActivity')).toBe(0);
    expect(sent(kit, 'longhaul.workflow.OperationResult')).toBe(0);
    // One write per step: the checkpoints before steps b and c, then the start's commit.
    expect(commits).toHaveLength(3);
    expect(commits.map((c) => history(c).filter((e) => e.e === 'completed').length)).toEqual([1, 2, 3]);
    const status = await kit.workflows.status('three');
    expect(status?.history.operations).toBe(3);
    expect(kit.errors()).toEqual([]);
  });

  it('replay returns the recorded result without running the step again', async () => {
    const kit = await start();
    runs.clear();
    await kit.startWorkflow(StepThenWait, 'k', { id: 'wait' });
    expect(count('reserve:k')).toBe(1);
    await kit.workflows.signal('wait', Approved, new Approved('ada'));
    await kit.idle();
    expect(await kit.workflows.status('wait')).toMatchObject({
      status: 'completed',
      result: 'r-k by ada (42)',
    });
    expect(count('reserve:k')).toBe(1); // replayed twice (signal, activity result), run once
    expect(count('confirm:k')).toBe(1);
  });

  it('a crash between a step and its checkpoint runs that step once more, and no other', async () => {
    const kit = await start();
    runs.clear();
    // The checkpoint of step b (the second write, 2 completed steps, before c runs) fails once.
    const crash = failCommits(
      kit,
      (c, n) => n === 2 && history(c).filter((e) => e.e === 'completed').length === 2,
    );
    await kit.startWorkflow(ThreeSteps, { key: 'crash', n: 1 }, { id: 'crash' });
    expect(crash.failed).toBe(1);
    expect(await kit.workflows.status('crash')).toMatchObject({ status: 'completed', result: 104 });
    expect([count('a:crash'), count('b:crash'), count('c:crash')]).toEqual([1, 2, 1]);
  });

  it('a crash at the handling’s final commit goes on from the checkpoints: only the last step runs again', async () => {
    const kit = await start();
    runs.clear();
    const crash = failCommits(
      kit,
      (c) => crash.failed === 0 && (c.record.state as WorkflowState).status === 'completed',
    );
    await kit.startWorkflow(ThreeSteps, { key: 'fc', n: 1 }, { id: 'final-crash' });
    expect(crash.failed).toBe(1);
    expect((await kit.workflows.status('final-crash'))?.result).toBe(104);
    // a and b were checkpointed before the crash; c's outcome was only in the lost commit
    expect([count('a:fc'), count('b:fc'), count('c:fc')]).toEqual([1, 1, 2]);
    expect(kit.errors()).toEqual([]);
  });

  it('retries a step per its policy: short backoffs inline, each failed attempt checkpointed', async () => {
    const kit = await start();
    runs.clear();
    await kit.startWorkflow(FlakyStep, { key: 'inline', interval: '10ms' }, { id: 'inline' });
    expect(await kit.workflows.status('inline')).toMatchObject({
      status: 'completed',
      result: 'ok on attempt 3',
    });
    expect(count('flaky:inline')).toBe(3);
    const exported = (await kit.workflows.history('inline'))!;
    expect(exported.events.filter((e) => e.e === 'attempt-failed')).toHaveLength(2);
    expect(kit.timeoutStore.size).toBe(0);
  });

  it('retries a step after a longer backoff on a durable timer, not in the handler', async () => {
    const kit = await start();
    runs.clear();
    await kit.startWorkflow(FlakyStep, { key: 'timer', interval: '10s' }, { id: 'timer' });
    expect(count('flaky:timer')).toBe(1);
    expect(await kit.workflows.status('timer')).toMatchObject({
      status: 'running',
      pending: [{ op: 'step' }],
    });
    expect(kit.timeoutStore.size).toBe(1);
    await kit.advance('9s');
    expect(count('flaky:timer')).toBe(1);
    await kit.advance('1s');
    expect(count('flaky:timer')).toBe(2);
    await kit.advance('19s');
    expect(count('flaky:timer')).toBe(2);
    await kit.advance('1s');
    expect(await kit.workflows.status('timer')).toMatchObject({
      status: 'completed',
      result: 'ok on attempt 3',
    });
    expect(kit.timeoutStore.size).toBe(0);
  });

  it('a step that fails for good reaches the workflow’s catch: non-retryable at once, else after its attempts', async () => {
    const kit = await start();
    runs.clear();
    await kit.startWorkflow(FailingStep, { key: 'nr', fatal: true }, { id: 'nr' });
    expect((await kit.workflows.status('nr'))?.result).toBe(
      'caught NonRetryableError: card declined after 1',
    );
    await kit.startWorkflow(FailingStep, { key: 'out', fatal: false }, { id: 'out' });
    expect((await kit.workflows.status('out'))?.result).toBe('caught Error: gateway down after 2');
  });

  it('a step renamed under a running instance parks it, as an activity would', async () => {
    const kit = await start();
    runs.clear();
    stepCode.name = 'first';
    try {
      await kit.startWorkflow(RenamedStep, 'rn', { id: 'renamed' });
      stepCode.name = 'second';
      forgetCachedRuns(); // a deploy restarts the process: its run cache starts empty
      await kit.workflows.signal('renamed', Approved, new Approved('ada'));
      await kit.idle();
      expect(await kit.workflows.status('renamed')).toMatchObject({
        status: 'parked',
        parked: {
          kind: 'non-determinism',
          position: 0,
          recorded: "step 'first'",
          requested: "step 'second'",
        },
      });
      expect(count('second:rn')).toBe(0);
    } finally {
      stepCode.name = 'first';
    }
  });

  it('a run that awaits something else after a step is parked (non-ctx-await), the step kept', async () => {
    const kit = await start();
    runs.clear();
    await kit.startWorkflow(SneakyStep, 'sn', { id: 'sneaky' });
    expect(await kit.workflows.status('sneaky')).toMatchObject({
      status: 'parked',
      parked: { kind: 'non-ctx-await' },
      history: { operations: 1 },
    });
    expect([count('before:sn'), count('after:sn')]).toEqual([1, 0]);
    // The late ctx call, once the await ends, runs nothing: the handling has ended.
    sneakyGate.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(count('after:sn')).toBe(0);
    expect(await kit.workflows.status('sneaky')).toMatchObject({ status: 'parked' });
  });

  it('cancel fails a step that waits for its retry; its timer is cancelled', async () => {
    const kit = await start();
    runs.clear();
    await kit.startWorkflow(StuckStep, 's', { id: 'stuck' });
    expect(kit.timeoutStore.size).toBe(1);
    await kit.workflows.cancel('stuck', 'no longer needed');
    await kit.idle();
    expect((await kit.workflows.status('stuck'))?.result).toBe('compensated after CancelledError');
    expect(kit.timeoutStore.size).toBe(0);
    expect(count('stuck:s')).toBe(1);
  });

  it('replay tests of an exported history replay steps without running them, and report a renamed one', async () => {
    const kit = await start();
    runs.clear();
    await kit.startWorkflow(ThreeSteps, { key: 'rp', n: 2 }, { id: 'replayed' });
    const exported = (await kit.workflows.history('replayed'))!;
    const clean = await replayHistory(ThreeSteps, JSON.parse(JSON.stringify(exported)));
    expect(clean).toMatchObject({ ok: true, ending: 'completed', result: 106 });
    expect([count('a:rp'), count('b:rp'), count('c:rp')]).toEqual([1, 1, 1]);

    await kit.startWorkflow(RenamedStep, 'rp', { id: 'renamed-replay' });
    const waiting = (await kit.workflows.history('renamed-replay'))!;
    stepCode.name = 'second';
    try {
      const diverged = await replayHistory(RenamedStep, waiting);
      expect(diverged).toMatchObject({
        ok: false,
        divergence: { kind: 'mismatch', recorded: "step 'first'", requested: 'step("second", function)' },
      });
    } finally {
      stepCode.name = 'first';
    }
  });
});
