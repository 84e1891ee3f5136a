/**
 * The workflow engine on the real services: RabbitMQ (transport, activity queue) and FerretDB
 * through its gate (history, timers), on the wall clock with short durations.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type OperationFailedError, type WorkflowClient } from '../../../src/index.js';
import {
  allActivities,
  allWorkflows,
  Approval,
  Approved,
  Catching,
  Changing,
  code,
  Compensating,
  count,
  FanOut,
  Parent,
  Pipeline,
  Retrying,
  runs,
  Sleeper,
} from '../../workflows/fixtures.js';
import { workflowServices } from './services-endpoint.js';
import { forgetCachedRuns } from '../../../src/workflows/run-cache.js';

const services = workflowServices({
  name: 'workflows',
  prefix: 'wf',
  workflows: allWorkflows,
  activities: allActivities,
});
const { tag, result, until } = services;
let client: WorkflowClient;
beforeAll(() => {
  client = services.client;
});

describe('durable workflows on RabbitMQ + FerretDB', () => {
  it('runs three activities; a second start with the same id keeps the one instance', async () => {
    runs.clear();
    await client.start(Pipeline, 5, { id: `p-${tag}` });
    await client.start(Pipeline, 100, { id: `p-${tag}` });
    expect(await result(`p-${tag}`)).toBe(40);
    expect(count('Double')).toBe(3);
    expect((await client.list({ type: Pipeline })).items).toHaveLength(1);
  });

  it('retries a failing activity per its policy, then succeeds', async () => {
    await client.start(Retrying, { key: `r-${tag}`, interval: '200ms' }, { id: `r-${tag}` });
    expect(await result(`r-${tag}`)).toBe('ok after 3');
    expect(count(`Flaky:r-${tag}`)).toBe(3);
  });

  it('a non-retryable activity failure reaches the workflow’s catch', async () => {
    await client.start(Catching, undefined, { id: `c-${tag}` });
    expect(await result(`c-${tag}`)).toBe('caught NonRetryableError: card declined');
  });

  it('an event raised after the wait began is received; a wait that times out returns null', async () => {
    await client.start(Approval, '30s', { id: `a-${tag}` });
    await until(
      async () => (await client.status(`a-${tag}`))?.pending.some((p) => p.op === 'event') ?? false,
      'the wait',
    );
    await client.signal(`a-${tag}`, Approved, new Approved('ada'));
    expect(await result(`a-${tag}`)).toBe('hello approver: approved by ada');
    await client.start(Approval, '1s', { id: `t-${tag}` });
    expect(await result(`t-${tag}`)).toBe('hello approver: timed out');
  });

  it('an event raised before the wait is buffered and received', async () => {
    await client.start(Approval, '30s', { id: `b-${tag}` });
    await client.signal(`b-${tag}`, Approved, new Approved('early bird'));
    expect(await result(`b-${tag}`)).toBe('hello approver: approved by early bird');
  });

  it('awaits a child workflow’s result and catches its failure', async () => {
    await client.start(Parent, 21, { id: `parent-${tag}` });
    expect(await result(`parent-${tag}`)).toBe('child gave 42, then failed: negative input');
  });

  it('fans out 50 activities and gets the results in order', async () => {
    await client.start(FanOut, 50, { id: `fan-${tag}` });
    expect(await result(`fan-${tag}`)).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
  });

  it('cancellation fails the pending timer and run compensates', async () => {
    runs.clear();
    await client.start(Compensating, 'o-9', { id: `comp-${tag}` });
    await until(
      async () => (await client.status(`comp-${tag}`))?.pending.some((p) => p.op === 'sleep') ?? false,
      'the timer',
    );
    await client.cancel(`comp-${tag}`, 'changed my mind');
    expect(await result(`comp-${tag}`)).toBe('refunded o-9');
    expect(count('Refund')).toBe(1);
  });

  it('parks an instance whose code changed its operation order', async () => {
    code.variant = 'activity-first';
    await client.start(Changing, undefined, { id: `nd-${tag}` });
    await until(
      async () => (await client.status(`nd-${tag}`))?.pending.some((p) => p.op === 'event') ?? false,
      'the wait',
    );
    code.variant = 'sleep-first';
    forgetCachedRuns(); // a deploy restarts the process: its run cache starts empty
    await client.signal(`nd-${tag}`, Approved, new Approved('x'));
    await until(async () => (await client.status(`nd-${tag}`))?.status === 'parked', 'parking');
    expect((await client.status(`nd-${tag}`))?.reason).toMatch(/position 0 holds activity 'Double'/);
    code.variant = 'activity-first';
  });

  it('terminate stops an instance and its timer; list filters; purge deletes finished ones', async () => {
    await client.start(Sleeper, undefined, { id: `s-${tag}` });
    await until(async () => (await client.status(`s-${tag}`))?.pending.length === 1, 'the timer');
    await client.terminate(`s-${tag}`, 'not needed');
    await expect(result(`s-${tag}`)).rejects.toSatisfy(
      (e: OperationFailedError) => e.failure.code === 'terminated',
    );
    const instance = (await services.endpoint.sagaStore.findByCorrelation('longhaul.Workflow', `s-${tag}`))!
      .id;
    // The timer's cancellation is dispatched right after the terminate's commit.
    await until(
      async () =>
        (await services.endpoint.timeoutStore.listBySaga('longhaul.Workflow', instance)).length === 0,
      'the timer cancelled',
    );
    expect((await client.list({ status: 'terminated' })).items.map((s) => s.id)).toEqual([`s-${tag}`]);
    expect((await client.list({ status: 'parked' })).items.map((s) => s.id)).toEqual([`nd-${tag}`]);
    const finished = async (status: 'completed' | 'failed' | 'terminated') =>
      (await client.list({ status }, { limit: 500 })).items.length;
    const expected =
      (await finished('completed')) + (await finished('failed')) + (await finished('terminated'));
    expect(expected).toBeGreaterThan(8);
    expect(await client.purge({ completedBefore: new Date(Date.now() + 1000) })).toBe(expected);
    expect(await client.status(`s-${tag}`)).toBeUndefined();
    expect(await client.status(`nd-${tag}`)).toBeDefined();
  });
});
