import { describe, expect, it } from 'vitest';
import {
  allActivities,
  allWorkflows,
  Approval,
  Approved,
  Catching,
  Changing,
  Child,
  code,
  Compensating,
  count,
  Counter,
  double,
  FanOut,
  Parent,
  Pipeline,
  Recorder,
  Retrying,
  runs,
  Sleeper,
} from './fixtures.js';
import { SagaTestKit } from '../../src/testing/index.js';
import { type WorkflowOptions } from '../../src/index.js';
import { OperationResult } from '../../src/workflows/messages.js';
import { forgetCachedRuns } from '../../src/workflows/run-cache.js';

const start = (workflowOptions: WorkflowOptions = {}) =>
  SagaTestKit.start({ name: 'wf', workflows: allWorkflows, activities: allActivities, workflowOptions });

describe('durable workflows (in memory, virtual clock)', () => {
  it('runs activities in sequence; replay never runs a completed activity again', async () => {
    const kit = await start();
    runs.clear();
    await kit.startWorkflow(Pipeline, 5, { id: 'p-1' });
    const status = await kit.workflows.status('p-1');
    expect(status).toMatchObject({ status: 'completed', result: 40, type: 'Pipeline' });
    expect(count('Double')).toBe(3);
    expect(status?.history.operations).toBe(3);
  });

  it('a redelivered activity command whose result is already recorded does not run the activity again', async () => {
    const kit = await start();
    runs.clear();
    await kit.startWorkflow(Pipeline, 5, { id: 'redelivered' });
    const first = kit.transport.log.find(
      (r) =>
        r.operation === 'send' && r.message.headers['longhaul.type'] === 'longhaul.workflow.ExecuteActivity',
    );
    await kit.transport.send(first!.message, 'wf'); // the broker hands the first command out again
    await kit.idle();
    expect(count('Double')).toBe(3);
    expect((await kit.workflows.status('redelivered'))?.result).toBe(40);
  });

  it('a second start with the same id keeps the one instance', async () => {
    const kit = await start();
    runs.clear();
    await kit.startWorkflow(Pipeline, 1, { id: 'same' });
    await kit.startWorkflow(Pipeline, 100, { id: 'same' });
    expect((await kit.workflows.status('same'))?.result).toBe(8);
    expect(count('Double')).toBe(3);
  });

  it('retries a failing activity per its policy, with backoff, then succeeds', async () => {
    const kit = await start();
    await kit.startWorkflow(Retrying, { key: 'r1', interval: '10s' }, { id: 'r-1' });
    expect(count('Flaky:r1')).toBe(1);
    await kit.advance('9s');
    expect(count('Flaky:r1')).toBe(1);
    await kit.advance('1s');
    expect(count('Flaky:r1')).toBe(2);
    await kit.advance('29s');
    expect(count('Flaky:r1')).toBe(2);
    await kit.advance('1s');
    expect(await kit.workflows.status('r-1')).toMatchObject({ status: 'completed', result: 'ok after 3' });
  });

  it('a non-retryable activity failure reaches the workflow’s catch at once', async () => {
    const kit = await start();
    runs.clear();
    await kit.startWorkflow(Catching, undefined, { id: 'c-1' });
    expect((await kit.workflows.status('c-1'))?.result).toBe('caught NonRetryableError: card declined');
    expect(count('Fatal')).toBe(1);
  });

  it('a 3-day timer fires on the virtual clock', async () => {
    const kit = await start();
    await kit.startWorkflow(Sleeper, undefined, { id: 's-1' });
    await kit.advance('2d23h');
    expect((await kit.workflows.status('s-1'))?.status).toBe('running');
    expect((await kit.workflows.status('s-1'))?.pending).toMatchObject([{ op: 'sleep' }]);
    await kit.advance('1h');
    expect(await kit.workflows.status('s-1')).toMatchObject({
      status: 'completed',
      result: { slept: 3 * 86_400_000 },
    });
  });

  it('receives an event raised after the wait began, and one raised before it', async () => {
    const kit = await start();
    await kit.startWorkflow(Approval, '1d', { id: 'after' });
    expect((await kit.workflows.status('after'))?.pending).toMatchObject([
      { op: 'event', name: 'wf.Approved' },
    ]);
    await kit.workflows.signal('after', Approved, new Approved('ada'));
    await kit.idle();
    expect((await kit.workflows.status('after'))?.result).toBe('hello approver: approved by ada');

    // Raised before the instance reached the wait (the instance exists, its activity has not run).
    const kit2 = await SagaTestKit.start({
      name: 'wf2',
      workflows: allWorkflows,
      activities: [double],
      workflowOptions: { activityEndpoint: 'elsewhere' },
    });
    await kit2.transport.declareEndpoint({ name: 'elsewhere', subscriptions: [] });
    await kit2.startWorkflow(Approval, '1d', { id: 'before' });
    await kit2.workflows.signal('before', Approved, new Approved('bob'));
    await kit2.idle();
    expect((await kit2.workflows.status('before'))?.history.signalsWaiting).toBe(1);
    // The worker on 'elsewhere' answers the activity; the workflow then reaches the wait and takes the buffered event.
    const [execute] = kit2.transport.pending('elsewhere');
    const command = JSON.parse(execute!.body.toString()) as {
      instanceId: string;
      generation: number;
      seq: number;
    };
    await kit2.when(new OperationResult(command.instanceId, command.generation, command.seq, true, 'hi'));
    expect(await kit2.workflows.status('before')).toMatchObject({
      status: 'completed',
      result: 'hi: approved by bob',
      history: { signalsWaiting: 0 },
    });
  });

  it('parks an instance whose code changed its operation order, with the reason in its status', async () => {
    const kit = await start();
    code.variant = 'activity-first';
    await kit.startWorkflow(Changing, undefined, { id: 'nd' });
    code.variant = 'sleep-first'; // a deploy changed the code under the running instance
    forgetCachedRuns(); // a deploy restarts the process: its run cache starts empty
    await kit.workflows.signal('nd', Approved, new Approved('anyone'));
    await kit.idle();
    const status = await kit.workflows.status('nd');
    expect(status?.status).toBe('parked');
    expect(status?.reason).toMatch(/position 0 holds activity 'Double', but the code now asks for sleep/);
    expect(status?.parked).toMatchObject({
      position: 0,
      recorded: "activity 'Double'",
      requested: "sleep 'timer'",
    });
    // Parked is not an end: result() keeps waiting, and says why when it gives up.
    await expect(kit.workflows.result('nd', { timeout: '100ms', pollInterval: '10ms' })).rejects.toThrow(
      /did not finish in time: it is parked: History position 0/,
    );
    expect(kit.errors()).toEqual([]);
  });

  it('a signal that overtakes the start is retried until the instance exists', async () => {
    const kit = await start();
    await kit.workflows.signal('early', Approved, new Approved('eve'));
    await kit.idle();
    expect(kit.transport.waitingRetries).toBe(1); // immediate retries failed; a delayed one waits
    await kit.startWorkflow(Approval, '1d', { id: 'early' });
    await kit.advance('1s');
    expect((await kit.workflows.status('early'))?.result).toBe('hello approver: approved by eve');
    expect(kit.errors()).toEqual([]);
  });

  it('returns null from a wait that times out', async () => {
    const kit = await start();
    await kit.startWorkflow(Approval, '3d', { id: 'late' });
    await kit.advance('3d');
    expect((await kit.workflows.status('late'))?.result).toBe('hello approver: timed out');
    await kit.workflows.signal('late', Approved, new Approved('too late'));
    await kit.idle();
    expect((await kit.workflows.status('late'))?.result).toBe('hello approver: timed out');
  });

  it('awaits a child workflow’s result and catches its failure', async () => {
    const kit = await start();
    await kit.startWorkflow(Parent, 21, { id: 'parent' });
    expect((await kit.workflows.status('parent'))?.result).toBe('child gave 42, then failed: negative input');
    const children = await kit.workflows.list({ type: Child });
    expect(children.items.map((c) => c.status).sort()).toEqual(['completed', 'failed']);
  });

  it('fans out 50 activities with ctx.all and gets the results in order', async () => {
    const kit = await start();
    await kit.startWorkflow(FanOut, 50, { id: 'fan' });
    expect((await kit.workflows.status('fan'))?.result).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
  });

  it('cancellation fails the pending timer, and run compensates', async () => {
    const kit = await start();
    runs.clear();
    await kit.startWorkflow(Compensating, 'o-9', { id: 'comp' });
    await kit.workflows.cancel('comp', 'customer changed their mind');
    await kit.idle();
    expect((await kit.workflows.status('comp'))?.result).toBe('refunded o-9');
    expect(count('Refund')).toBe(1);
    expect(kit.timeoutStore.size).toBe(0);
  });

  it('records now/uuid/random once and replays them', async () => {
    const kit = await start();
    await kit.startWorkflow(Recorder, undefined, { id: 'rec' });
    const at = kit.clock.now();
    await kit.advance('1m');
    const result = (await kit.workflows.status('rec'))?.result as { id: string; r: number; at: Date };
    expect(result.at).toEqual(at);
    expect(result.id).toMatch(/^[0-9a-f-]{36}$/);
    const history = (await kit.sagaStore.list('longhaul.Workflow', {}, { limit: 10 }))
      .map((r) => r.state as { instanceId: string; history: { e: string; op?: string; value?: unknown }[] })
      .find((s) => s.instanceId === 'rec')!.history;
    expect(history.filter((e) => e.e === 'recorded').map((e) => e.value)).toEqual([
      result.id,
      result.r,
      at.getTime(),
    ]);
  });

  it('continueAsNew starts over with an empty history', async () => {
    const kit = await start();
    await kit.startWorkflow(Counter, { left: 3, total: 0 }, { id: 'count' });
    const status = await kit.workflows.status('count');
    expect(status).toMatchObject({ status: 'completed', result: 6, generation: 2 });
    expect(status?.history.operations).toBe(1);
  });

  it('terminate ends an instance and its timers; purge deletes finished instances; list filters', async () => {
    const kit = await start();
    await kit.startWorkflow(Sleeper, undefined, { id: 't-1' });
    await kit.startWorkflow(Pipeline, 1, { id: 't-2' });
    await kit.workflows.terminate('t-1', 'no longer needed');
    await kit.idle();
    expect(await kit.workflows.status('t-1')).toMatchObject({
      status: 'terminated',
      reason: 'no longer needed',
    });
    expect(kit.timeoutStore.size).toBe(0);
    await expect(kit.workflows.result('t-1')).rejects.toThrow(/terminated/);
    expect(await kit.workflows.result('t-2')).toBe(8);
    expect((await kit.workflows.list({ status: 'terminated' })).items.map((s) => s.id)).toEqual(['t-1']);
    expect((await kit.workflows.list({ type: 'Pipeline' })).items.map((s) => s.id)).toEqual(['t-2']);
    const page1 = await kit.workflows.list({}, { limit: 1 });
    const page2 = await kit.workflows.list({}, { limit: 1, after: page1.next });
    expect(page1.items).toHaveLength(1);
    expect(page2.items[0]?.id).not.toBe(page1.items[0]?.id);
    await kit.advance('1s');
    expect(await kit.workflows.purge({ completedBefore: kit.clock.now() })).toBe(2);
    expect(await kit.workflows.status('t-1')).toBeUndefined();
    expect(await kit.workflows.status('t-2')).toBeUndefined();
  });
});
