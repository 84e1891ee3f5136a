/**
 * The sagas and workflows that the multi-process tests run in child processes (worker.ts) and
 * drive from the test process. One module, so both sides register the same message types.
 */
import { MongoClient } from 'mongodb';
import {
  activity,
  Command,
  Event,
  Handles,
  Saga,
  type SagaContext,
  StartedBy,
  Workflow,
  type WorkflowContext,
} from '../../../src/index.js';

@Event('mp.Started')
export class MpStarted {
  constructor(readonly id: string) {}
}

@Command('mp.Step')
export class MpStep {
  constructor(
    readonly id: string,
    readonly n: number,
  ) {}
}

@Event('mp.Completed')
export class MpCompleted {
  constructor(
    readonly id: string,
    readonly steps: number,
    readonly worker: string,
  ) {}
}

/** Three saga messages per instance: started, step 1, step 2 (completes and publishes). */
@Saga('MpCounter')
export class MpCounter {
  @StartedBy(MpStarted, { correlateBy: (m) => m.id })
  async started(m: MpStarted, ctx: SagaContext<{ steps: number; workers: string[] }>): Promise<void> {
    ctx.state = { steps: 0, workers: [worker()] };
    await ctx.send(new MpStep(m.id, 1));
  }

  @Handles(MpStep, { correlateBy: (m) => m.id })
  async step(m: MpStep, ctx: SagaContext<{ steps: number; workers: string[] }>): Promise<void> {
    ctx.state.steps++;
    ctx.state.workers.push(worker());
    if (m.n < 2) {
      await ctx.send(new MpStep(m.id, m.n + 1));
      return;
    }
    await ctx.publish(new MpCompleted(m.id, ctx.state.steps, worker()));
    ctx.complete();
  }
}

function worker(): string {
  return process.env.LH_WORKER ?? `pid-${process.pid}`;
}

/** Activities record each execution in a ledger collection, so a test can count them. */
let ledger: MongoClient | undefined;
async function record(what: string, instanceId: string): Promise<void> {
  ledger ??= new MongoClient(process.env.LH_MONGODB_URL ?? '');
  await ledger
    .db(process.env.LH_DATABASE)
    .collection('ledger')
    .insertOne({ what, instanceId, worker: worker(), at: new Date() });
}

export const stepOne = activity('mp.StepOne', async (id: string) => {
  await record('one', id);
  return `one:${id}`;
});

export const stepTwo = activity('mp.StepTwo', async (id: string) => {
  await record('two', id);
  return `two:${id}`;
});

/** Activity, durable timer, activity: a worker can die while the timer waits. */
@Workflow('mp.TwoSteps')
export class TwoSteps {
  async run(ctx: WorkflowContext, input: { id: string; pause: string }): Promise<string[]> {
    const one = await ctx.activity(stepOne, input.id);
    await ctx.sleep(input.pause);
    const two = await ctx.activity(stepTwo, input.id);
    return [one, two];
  }
}

@Event('mp.Go')
export class MpGo {
  constructor(readonly by: string) {}
}

/**
 * The code of two deploys: `LH_CODE=v2` inserts an activity before the timer, so a v1 history
 * diverges under v2 (the instance parks), and replays again under v1.
 */
@Workflow('mp.Versioned')
export class Versioned {
  async run(ctx: WorkflowContext, input: { id: string; pause: string }): Promise<string[]> {
    const one = await ctx.activity(stepOne, input.id);
    if (process.env.LH_CODE === 'v2') await ctx.activity(stepTwo, `${input.id}:v2-extra`);
    await ctx.sleep(input.pause);
    const go = await ctx.waitForEvent(MpGo);
    const two = await ctx.activity(stepTwo, input.id);
    return [one, `go:${go?.by}`, two];
  }
}

export async function closeLedger(): Promise<void> {
  await ledger?.close();
}
