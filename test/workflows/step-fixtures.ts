/**
 * Workflows with inline steps, shared by the in-memory and the real-services step tests. Each
 * step counts its runs in `runs` (fixtures.ts) under `<step>:<key>`.
 */
import {
  NonRetryableError,
  type OperationFailedError,
  Workflow,
  type WorkflowContext,
} from '../../src/index.js';
import { Approved, bump, count, double } from './fixtures.js';

/** Three inline steps in a row. */
@Workflow('ThreeSteps')
export class ThreeSteps {
  async run(ctx: WorkflowContext, input: { key: string; n: number }): Promise<number> {
    const a = await ctx.step('a', () => (bump(`a:${input.key}`), input.n + 1));
    const b = await ctx.step('b', () => (bump(`b:${input.key}`), a * 2));
    return ctx.step('c', async () => (bump(`c:${input.key}`), b + 100));
  }
}

/** A step, then a wait for a signal (so a later message replays the step), then a step. */
@Workflow('StepThenWait')
export class StepThenWait {
  async run(ctx: WorkflowContext, key: string): Promise<string> {
    const id = await ctx.step('reserve', () => (bump(`reserve:${key}`), `r-${key}`));
    const approval = await ctx.waitForEvent(Approved);
    const doubled = await ctx.activity(double, 21);
    return ctx.step('confirm', () => (bump(`confirm:${key}`), `${id} by ${approval?.by} (${doubled})`));
  }
}

/** A step that throws until its third attempt. */
@Workflow('FlakyStep')
export class FlakyStep {
  async run(
    ctx: WorkflowContext,
    input: { key: string; interval: string; attempts?: number },
  ): Promise<string> {
    return ctx.step(
      'flaky',
      (info) => {
        if (bump(`flaky:${input.key}`) <= 2) throw new Error(`transient failure on attempt ${info.attempt}`);
        return `ok on attempt ${info.attempt}`;
      },
      {
        retry: {
          maximumAttempts: input.attempts ?? 3,
          initialInterval: input.interval,
          backoffCoefficient: 2,
        },
      },
    );
  }
}

/** A step that fails for good (non-retryable, or out of attempts); the workflow catches it. */
@Workflow('FailingStep')
export class FailingStep {
  async run(ctx: WorkflowContext, input: { key: string; fatal: boolean }): Promise<string> {
    try {
      await ctx.step(
        'charge',
        () => {
          bump(`charge:${input.key}`);
          throw input.fatal ? new NonRetryableError('card declined') : new Error('gateway down');
        },
        { retry: { maximumAttempts: 2, initialInterval: '10ms' } },
      );
      return 'charged';
    } catch (error) {
      const failure = (error as OperationFailedError).failure;
      return `caught ${failure.name}: ${failure.message} after ${count(`charge:${input.key}`)}`;
    }
  }
}

/** Which code is deployed under running `RenamedStep` instances. */
export const stepCode = { name: 'first' };

/** Its first step's name changes with `stepCode`: a running instance then diverges. */
@Workflow('RenamedStep')
export class RenamedStep {
  async run(ctx: WorkflowContext, key: string): Promise<string> {
    await ctx.step(stepCode.name, () => bump(`${stepCode.name}:${key}`));
    await ctx.waitForEvent(Approved);
    return 'done';
  }
}

/** A step that keeps failing with a long backoff, so the instance waits on its retry timer. */
@Workflow('StuckStep')
export class StuckStep {
  async run(ctx: WorkflowContext, key: string): Promise<string> {
    try {
      await ctx.step(
        'stuck',
        () => {
          bump(`stuck:${key}`);
          throw new Error('not yet');
        },
        { retry: { maximumAttempts: 10, initialInterval: '1h' } },
      );
      return 'done';
    } catch (error) {
      if (!ctx.cancelled) throw error;
      return `compensated after ${(error as OperationFailedError).failure.name}`;
    }
  }
}

/** Lets SneakyStep's runs past their non-ctx await (the test does, once it has seen them parked). */
export const sneakyGate: { release: () => void; opened: Promise<void> } = (() => {
  let release: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (release = resolve));
  return { release, opened };
})();

/** Awaits something that is not a ctx operation between two steps. */
@Workflow('SneakyStep')
export class SneakyStep {
  async run(ctx: WorkflowContext, key: string): Promise<string> {
    await ctx.step('before', () => bump(`before:${key}`));
    // Not a ctx operation (a timer, a fetch in real code). Released by the test only after the
    // handling has ended, so the run is found waiting on it however slow the machine is.
    await sneakyGate.opened;
    return ctx.step('after', () => (bump(`after:${key}`), 'done'));
  }
}

export const stepWorkflows = [
  ThreeSteps,
  StepThenWait,
  FlakyStep,
  FailingStep,
  RenamedStep,
  StuckStep,
  SneakyStep,
];
