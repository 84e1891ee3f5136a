/**
 * Inline steps on the real services: RabbitMQ (transport) and FerretDB through its gate (history,
 * checkpoints, retry timers), on the wall clock with short durations.
 */
import { describe, expect, it } from 'vitest';
import { type SagaCommit } from '../../../src/persistence/saga-store.js';
import { type WorkflowState } from '../../../src/workflows/history.js';
import { Approved, count, double, runs } from '../../workflows/fixtures.js';
import {
  FailingStep,
  FlakyStep,
  RenamedStep,
  StepThenWait,
  stepCode,
  stepWorkflows,
  ThreeSteps,
} from '../../workflows/step-fixtures.js';
import { workflowServices } from './services-endpoint.js';
import { forgetCachedRuns } from '../../../src/workflows/run-cache.js';

/** Ids whose step checkpoint with this many completed steps fails once (a crash at that write). */
const crashAt = new Map<string, number>();
const completedSteps = (c: SagaCommit) =>
  ((c.record.state as WorkflowState | null)?.history ?? []).filter((e) => e.e === 'completed').length;

const services = workflowServices({
  name: 'steps',
  prefix: 'wfs',
  workflows: stepWorkflows,
  activities: [double],
  beforeCommit: (c) => {
    const state = c.record.state as WorkflowState | null;
    const at = state ? crashAt.get(state.instanceId) : undefined;
    if (at !== undefined && state?.interrupted && completedSteps(c) === at) {
      crashAt.delete(state.instanceId);
      throw new Error('simulated crash at the step checkpoint');
    }
  },
});
const { tag, result, until } = services;

describe('inline steps on RabbitMQ + FerretDB', () => {
  it('runs three steps without a broker hop and replays them without running them again', async () => {
    runs.clear();
    await services.client.start(ThreeSteps, { key: tag, n: 4 }, { id: `three-${tag}` });
    expect(await result(`three-${tag}`)).toBe(110);
    expect([count(`a:${tag}`), count(`b:${tag}`), count(`c:${tag}`)]).toEqual([1, 1, 1]);

    await services.client.start(StepThenWait, tag, { id: `wait-${tag}` });
    await until(
      async () =>
        (await services.client.status(`wait-${tag}`))?.pending.some((p) => p.op === 'event') ?? false,
      'the wait',
    );
    await services.client.signal(`wait-${tag}`, Approved, new Approved('ada'));
    expect(await result(`wait-${tag}`)).toBe(`r-${tag} by ada (42)`);
    expect(count(`reserve:${tag}`)).toBe(1);
    expect(count(`confirm:${tag}`)).toBe(1);
  });

  it('a crash between a step and its checkpoint runs that step once more, and no other', async () => {
    runs.clear();
    const id = `crash-${tag}`;
    crashAt.set(id, 2); // the checkpoint of step b
    await services.client.start(ThreeSteps, { key: id, n: 1 }, { id });
    expect(await result(id)).toBe(104);
    expect(crashAt.has(id)).toBe(false);
    expect([count(`a:${id}`), count(`b:${id}`), count(`c:${id}`)]).toEqual([1, 2, 1]);
  });

  it('retries a step inline after a short backoff and on a durable timer after a longer one', async () => {
    runs.clear();
    await services.client.start(FlakyStep, { key: `i-${tag}`, interval: '10ms' }, { id: `i-${tag}` });
    await services.client.start(FlakyStep, { key: `t-${tag}`, interval: '300ms' }, { id: `t-${tag}` });
    expect(await result(`i-${tag}`)).toBe('ok on attempt 3');
    expect(await result(`t-${tag}`)).toBe('ok on attempt 3');
    expect(count(`flaky:t-${tag}`)).toBe(3);
    const events = (await services.client.history(`t-${tag}`))!.events;
    expect(events.filter((e) => e.e === 'attempt-failed' && e.timerId)).toHaveLength(2);
    expect(events.filter((e) => e.e === 'retry-due')).toHaveLength(2);
  });

  it('a step that fails for good reaches the catch; a renamed step parks the instance', async () => {
    runs.clear();
    await services.client.start(FailingStep, { key: `f-${tag}`, fatal: true }, { id: `f-${tag}` });
    expect(await result(`f-${tag}`)).toBe('caught NonRetryableError: card declined after 1');
    stepCode.name = 'first';
    try {
      await services.client.start(RenamedStep, tag, { id: `rn-${tag}` });
      await until(
        async () =>
          (await services.client.status(`rn-${tag}`))?.pending.some((p) => p.op === 'event') ?? false,
        'the wait',
      );
      stepCode.name = 'second';
      forgetCachedRuns(); // a deploy restarts the process: its run cache starts empty
      await services.client.signal(`rn-${tag}`, Approved, new Approved('ada'));
      await until(async () => (await services.client.status(`rn-${tag}`))?.status === 'parked', 'parked');
      expect((await services.client.status(`rn-${tag}`))?.parked).toMatchObject({
        recorded: "step 'first'",
        requested: "step 'second'",
      });
    } finally {
      stepCode.name = 'first';
    }
  });
});
