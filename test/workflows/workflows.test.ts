import { describe, expect, it } from 'vitest';
import {
  Activity,
  activity,
  Event,
  NonRetryableError,
  OperationFailedError,
  Workflow,
  type WorkflowContext,
} from '../../src/index.js';
import { SagaTestKit } from '../../src/testing/index.js';
import { OperationResult } from '../../src/workflows/messages.js';

const runs = new Map<string, number>();
const count = (name: string): number => runs.get(name) ?? 0;
const bump = (name: string): number => {
  runs.set(name, count(name) + 1);
  return count(name);
};

const double = activity('Double', (n: number) => {
  bump('Double');
  return n * 2;
});
const flaky = activity('Flaky', (key: string) => {
  if (bump(`Flaky:${key}`) <= 2) throw new Error(`transient failure ${count(`Flaky:${key}`)}`);
  return `ok after ${count(`Flaky:${key}`)}`;
});
const fatal = activity('Fatal', () => {
  bump('Fatal');
  throw new NonRetryableError('card declined');
});
const refund = activity('Refund', (orderId: string) => {
  bump('Refund');
  return `refunded ${orderId}`;
});

@Activity('Greet')
class Greet {
  execute(name: string): string {
    bump('Greet');
    return `hello ${name}`;
  }
}

@Event('wf.Approved')
class Approved {
  constructor(readonly by: string) {}
}

@Workflow('Pipeline')
class Pipeline {
  async run(ctx: WorkflowContext, input: number): Promise<number> {
    const a = await ctx.activity(double, input);
    const b = await ctx.activity(double, a);
    return ctx.activity(double, b);
  }
}

@Workflow('Retrying')
class Retrying {
  async run(ctx: WorkflowContext, key: string): Promise<string> {
    return ctx.activity(flaky, key, {
      retry: { maximumAttempts: 3, initialInterval: '10s', backoffCoefficient: 3 },
    });
  }
}

@Workflow('Catching')
class Catching {
  async run(ctx: WorkflowContext): Promise<string> {
    try {
      await ctx.activity(fatal, undefined, { retry: { maximumAttempts: 5 } });
      return 'charged';
    } catch (error) {
      return `caught ${(error as OperationFailedError).failure.name}: ${(error as OperationFailedError).failure.message}`;
    }
  }
}

@Workflow('Sleeper')
class Sleeper {
  async run(ctx: WorkflowContext): Promise<{ slept: number }> {
    const before = ctx.now();
    await ctx.sleep('3d');
    return { slept: ctx.now().getTime() - before.getTime() };
  }
}

@Workflow('Approval')
class Approval {
  async run(ctx: WorkflowContext, timeout: string): Promise<string> {
    const greeting = await ctx.activity(Greet, 'approver');
    const approved = await ctx.waitForEvent(Approved, { timeout });
    return approved ? `${greeting}: approved by ${approved.by}` : `${greeting}: timed out`;
  }
}

@Workflow('Child')
class Child {
  async run(ctx: WorkflowContext, n: number): Promise<number> {
    if (n < 0) throw new Error('negative input');
    return ctx.activity(double, n);
  }
}

@Workflow('Parent')
class Parent {
  async run(ctx: WorkflowContext, n: number): Promise<string> {
    const ok = await ctx.child(Child, n);
    try {
      await ctx.child(Child, -1);
      return `unexpected ${ok}`;
    } catch (error) {
      return `child gave ${ok}, then failed: ${(error as OperationFailedError).failure.message}`;
    }
  }
}

@Workflow('FanOut')
class FanOut {
  async run(ctx: WorkflowContext, n: number): Promise<number[]> {
    return ctx.all(Array.from({ length: n }, (_, i) => ctx.activity(double, i)));
  }
}

@Workflow('Compensating')
class Compensating {
  async run(ctx: WorkflowContext, orderId: string): Promise<string> {
    await ctx.activity(double, 1);
    try {
      await ctx.sleep('1h'); // waiting to ship
      return 'shipped';
    } catch {
      return ctx.cancelled ? await ctx.activity(refund, orderId) : 'failed';
    }
  }
}

@Workflow('Recorder')
class Recorder {
  async run(ctx: WorkflowContext): Promise<{ id: string; r: number; at: Date }> {
    const id = ctx.uuid();
    const r = ctx.random();
    const at = ctx.now();
    await ctx.sleep('1m');
    return { id, r, at };
  }
}

@Workflow('Counter')
class Counter {
  async run(ctx: WorkflowContext, input: { left: number; total: number }): Promise<number> {
    const total = input.total + (await ctx.activity(double, 1));
    if (input.left > 1) ctx.continueAsNew({ left: input.left - 1, total });
    return total;
  }
}

let variant: 'activity-first' | 'sleep-first' = 'activity-first';

@Workflow('Changing')
class Changing {
  async run(ctx: WorkflowContext): Promise<string> {
    if (variant === 'activity-first') await ctx.activity(double, 1);
    else await ctx.sleep('1m');
    await ctx.sleep('1h');
    return 'done';
  }
}

const all = [
  Changing,
  Pipeline,
  Retrying,
  Catching,
  Sleeper,
  Approval,
  Child,
  Parent,
  FanOut,
  Compensating,
  Recorder,
  Counter,
];
const start = () =>
  SagaTestKit.start({ name: 'wf', workflows: all, activities: [double, flaky, fatal, refund, Greet] });

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
    await kit.startWorkflow(Retrying, 'r1', { id: 'r-1' });
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
      workflows: all,
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
    variant = 'activity-first';
    await kit.startWorkflow(Changing, undefined, { id: 'nd' });
    variant = 'sleep-first'; // a deploy changed the code under the running instance
    await kit.advance('1h');
    const status = await kit.workflows.status('nd');
    expect(status?.status).toBe('parked');
    expect(status?.reason).toMatch(/position 0 holds activity 'Double', but the code now asks for sleep/);
    await expect(kit.workflows.result('nd')).rejects.toThrow(/position 0/);
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
