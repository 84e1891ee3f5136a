/**
 * Workflows for the durability tests (parked instances, reset, signals, limits), shared by the
 * in-memory and the real-services tests. `deployed` switches the code under running instances.
 */
import {
  activity,
  Event,
  type OperationFailedError,
  Workflow,
  type WorkflowContext,
} from '../../src/index.js';
import { Approved, bump } from './fixtures.js';

export const step = activity('Step', (what: string) => {
  bump(`Step:${what}`);
  return what;
});

export const huge = activity('Huge', (mb: number) => 'x'.repeat(mb * 1024 * 1024));

/** Which code is deployed: `v2` inserts an activity before the sleep, so v1 histories diverge. */
export const deployed: { evolving: 'v1' | 'v2'; patching: boolean } = { evolving: 'v1', patching: false };

@Workflow('Evolving')
export class Evolving {
  async run(ctx: WorkflowContext, input: { id: string; sleep: string }): Promise<string> {
    await ctx.activity(step, `one:${input.id}`);
    if (deployed.evolving === 'v2') await ctx.activity(step, `extra:${input.id}`);
    try {
      await ctx.sleep(input.sleep);
    } catch (error) {
      if (!ctx.cancelled) throw error;
      return `compensated: ${await ctx.activity(step, `undo:${input.id}`)}`;
    }
    const approval = await ctx.waitForEvent(Approved);
    await ctx.activity(step, `two:${input.id}`);
    return `approved by ${approval?.by}`;
  }
}

/** Three steps in a row, for reset. */
@Workflow('Steps')
export class Steps {
  async run(ctx: WorkflowContext, id: string): Promise<string[]> {
    const out: string[] = [];
    for (const n of [1, 2, 3]) out.push(await ctx.activity(step, `${id}:${n}`));
    return out;
  }
}

@Event('wf.Go')
export class Go {}

/** Waits for events and records their order; continues as new after each one. */
@Workflow('Inbox')
export class Inbox {
  async run(ctx: WorkflowContext, got: string[]): Promise<string[]> {
    const event = await ctx.waitForEvent(Approved);
    const all = [...got, event?.by ?? 'none'];
    if (all.length === 1) await ctx.waitForEvent(Go); // more signals arrive now and stay buffered
    if (all.length < 3) ctx.continueAsNew(all);
    return all;
  }
}

/** Deploys add a patched step after the first one. */
@Workflow('Patching')
export class Patching {
  async run(ctx: WorkflowContext, id: string): Promise<string[]> {
    const done = [await ctx.activity(step, `first:${id}`)];
    if (deployed.patching && ctx.patched('extra-step')) done.push(await ctx.activity(step, `extra:${id}`));
    await ctx.waitForEvent(Approved);
    return done;
  }
}

/** Awaits a plain promise: the engine must park it, not leave it running with nothing pending. */
@Workflow('Sneaky')
export class Sneaky {
  async run(ctx: WorkflowContext): Promise<string> {
    await ctx.activity(step, 'sneaky');
    await new Promise((resolve) => setTimeout(resolve, 20));
    return ctx.activity(step, 'after-timeout');
  }
}

/** Asks for a result larger than a message may be, and catches the failure. */
@Workflow('TooLarge')
export class TooLarge {
  async run(ctx: WorkflowContext, mb: number): Promise<string> {
    try {
      const text = await ctx.activity(huge, mb);
      return `got ${text.length}`;
    } catch (error) {
      const failure = (error as OperationFailedError).failure;
      return `caught ${failure.code}: ${failure.message.slice(0, 40)}`;
    }
  }
}

/** Returns a result larger than a message may be. */
@Workflow('BigChild')
export class BigChild {
  async run(_ctx: WorkflowContext, mb: number): Promise<string> {
    return 'x'.repeat(mb * 1024 * 1024);
  }
}

/** A child result and an activity input over the limit: both fail their operation, caught here. */
@Workflow('BigParent')
export class BigParent {
  async run(ctx: WorkflowContext, mb: number): Promise<string[]> {
    const caught: string[] = [];
    for (const attempt of [
      () => ctx.child(BigChild, mb),
      () => ctx.activity(step, 'y'.repeat(mb * 1024 * 1024)),
    ]) {
      try {
        await attempt();
        caught.push('no failure');
      } catch (error) {
        const failure = (error as OperationFailedError).failure;
        caught.push(`${failure.code}: ${failure.message.slice(0, 30)}`);
      }
    }
    return caught;
  }
}

/** Grows its history one activity at a time and reports `ctx.info`. */
@Workflow('Growing')
export class Growing {
  async run(
    ctx: WorkflowContext,
    steps: number,
  ): Promise<{ suggestedAt?: number; length: number; bytes: number }> {
    let suggestedAt: number | undefined;
    for (let i = 0; i < steps; i++) {
      await ctx.activity(step, `grow:${i}`);
      if (ctx.info.continueAsNewSuggested && suggestedAt === undefined) suggestedAt = i;
    }
    return { suggestedAt, length: ctx.info.historyLength, bytes: ctx.info.historyBytes };
  }
}

export const durableWorkflows = [
  Evolving,
  Steps,
  Inbox,
  Sneaky,
  TooLarge,
  Growing,
  Patching,
  BigChild,
  BigParent,
];
export const durableActivities = [step, huge];
