/**
 * Workflows and activities shared by the in-memory and the real-services workflow tests.
 */
import {
  Activity,
  activity,
  Event,
  NonRetryableError,
  type OperationFailedError,
  Workflow,
  type WorkflowContext,
} from '../../src/index.js';

export const runs = new Map<string, number>();
export const count = (name: string): number => runs.get(name) ?? 0;
export const bump = (name: string): number => {
  runs.set(name, count(name) + 1);
  return count(name);
};

export const double = activity('Double', (n: number) => {
  bump('Double');
  return n * 2;
});
export const flaky = activity('Flaky', (key: string) => {
  if (bump(`Flaky:${key}`) <= 2) throw new Error(`transient failure ${count(`Flaky:${key}`)}`);
  return `ok after ${count(`Flaky:${key}`)}`;
});
export const fatal = activity('Fatal', () => {
  bump('Fatal');
  throw new NonRetryableError('card declined');
});
export const refund = activity('Refund', (orderId: string) => {
  bump('Refund');
  return `refunded ${orderId}`;
});

@Activity('Greet')
export class Greet {
  execute(name: string): string {
    bump('Greet');
    return `hello ${name}`;
  }
}

@Event('wf.Approved')
export class Approved {
  constructor(readonly by: string) {}
}

@Workflow('Pipeline')
export class Pipeline {
  async run(ctx: WorkflowContext, input: number): Promise<number> {
    const a = await ctx.activity(double, input);
    const b = await ctx.activity(double, a);
    return ctx.activity(double, b);
  }
}

@Workflow('Retrying')
export class Retrying {
  async run(ctx: WorkflowContext, input: { key: string; interval: string }): Promise<string> {
    return ctx.activity(flaky, input.key, {
      retry: { maximumAttempts: 3, initialInterval: input.interval, backoffCoefficient: 3 },
    });
  }
}

@Workflow('Catching')
export class Catching {
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
export class Sleeper {
  async run(ctx: WorkflowContext): Promise<{ slept: number }> {
    const before = ctx.now();
    await ctx.sleep('3d');
    return { slept: ctx.now().getTime() - before.getTime() };
  }
}

@Workflow('Approval')
export class Approval {
  async run(ctx: WorkflowContext, timeout: string): Promise<string> {
    const greeting = await ctx.activity(Greet, 'approver');
    const approved = await ctx.waitForEvent(Approved, { timeout });
    return approved ? `${greeting}: approved by ${approved.by}` : `${greeting}: timed out`;
  }
}

@Workflow('Child')
export class Child {
  async run(ctx: WorkflowContext, n: number): Promise<number> {
    if (n < 0) throw new Error('negative input');
    return ctx.activity(double, n);
  }
}

@Workflow('Parent')
export class Parent {
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
export class FanOut {
  async run(ctx: WorkflowContext, n: number): Promise<number[]> {
    return ctx.all(Array.from({ length: n }, (_, i) => ctx.activity(double, i)));
  }
}

@Workflow('Compensating')
export class Compensating {
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
export class Recorder {
  async run(ctx: WorkflowContext): Promise<{ id: string; r: number; at: Date }> {
    const id = ctx.uuid();
    const r = ctx.random();
    const at = ctx.now();
    await ctx.sleep('1m');
    return { id, r, at };
  }
}

@Workflow('Counter')
export class Counter {
  async run(ctx: WorkflowContext, input: { left: number; total: number }): Promise<number> {
    const total = input.total + (await ctx.activity(double, 1));
    if (input.left > 1) ctx.continueAsNew({ left: input.left - 1, total });
    return total;
  }
}

export const code: { variant: 'activity-first' | 'sleep-first' } = { variant: 'activity-first' };

@Workflow('Changing')
export class Changing {
  async run(ctx: WorkflowContext): Promise<string> {
    if (code.variant === 'activity-first') await ctx.activity(double, 1);
    else await ctx.sleep('1m');
    await ctx.waitForEvent(Approved);
    return 'done';
  }
}

export const allWorkflows = [
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

export const allActivities = [double, flaky, fatal, refund, Greet];
