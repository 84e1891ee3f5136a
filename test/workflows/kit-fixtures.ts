/**
 * Workflows for the test-kit and replay-check tests. `variant` switches the code of `Shipping`
 * between versions, as a deploy would, so a history recorded with one replays against another.
 */
import { inject } from 'inversify';
import { activity, Activity, Event, Workflow, type WorkflowContext } from '../../src/index.js';

export const calls = { reserve: 0, charge: 0, ship: 0, notify: 0 };

export const reserve = activity('kit.Reserve', (sku: string) => {
  calls.reserve++;
  return `reservation:${sku}`;
});
export const charge = activity('kit.Charge', (amount: number) => {
  calls.charge++;
  return { receipt: `r-${amount}`, at: new Date('2026-02-03T04:05:06.000Z') };
});
export const ship = activity('kit.Ship', (reservation: string) => {
  calls.ship++;
  return `shipped ${reservation}`;
});
export const notify = activity('kit.Notify', (text: string) => {
  calls.notify++;
  return text.length;
});

/** A class activity with a constructor dependency, resolved from the container. */
export class Greeting {
  constructor(readonly word = 'hello') {}
}

@Activity('kit.Greet')
export class Greet {
  constructor(@inject(Greeting) private readonly greeting: Greeting) {}
  execute(name: string): string {
    return `${this.greeting.word} ${name}`;
  }
}

@Event('kit.Confirmed')
export class Confirmed {
  constructor(readonly by: string) {}
}

export const variant: { shipping: 'v1' | 'reordered' | 'shorter' | 'extended' | 'no-await' | 'fetching' } = {
  shipping: 'v1',
};

/** reserve → charge → wait up to 3 days for a confirmation → ship. */
@Workflow('kit.Shipping')
export class Shipping {
  async run(ctx: WorkflowContext, input: { sku: string; amount: number }): Promise<string> {
    const v = variant.shipping;
    if (v === 'fetching') await new Promise((resolve) => setTimeout(resolve, 1)); // a non-ctx await
    let reservation: string;
    let receipt: { receipt: string; at: Date };
    if (v === 'reordered') {
      receipt = await ctx.activity(charge, input.amount);
      reservation = await ctx.activity(reserve, input.sku);
    } else {
      reservation = await ctx.activity(reserve, input.sku);
      receipt = await ctx.activity(charge, input.amount);
    }
    const confirming = ctx.waitForEvent(Confirmed, { timeout: '3d' });
    if (v === 'no-await') return `${receipt.receipt} without waiting`;
    const confirmed = await confirming;
    if (!confirmed) return `${receipt.receipt} unconfirmed`;
    if (v === 'shorter') return `${receipt.receipt} confirmed by ${confirmed.by}`;
    const shipped = await ctx.activity(ship, reservation);
    if (v === 'extended') await ctx.activity(notify, shipped);
    return `${shipped} (${receipt.receipt} at ${receipt.at.toISOString()}) for ${confirmed.by}`;
  }
}

/** Waits for a confirmation for up to 3 days. */
@Workflow('kit.Approval')
export class Approval {
  async run(ctx: WorkflowContext): Promise<string> {
    const started = ctx.now();
    const confirmed = await ctx.waitForEvent(Confirmed, { timeout: '3d' });
    const waited = ctx.now().getTime() - started.getTime();
    return confirmed ? `confirmed by ${confirmed.by} after ${waited} ms` : `timed out after ${waited} ms`;
  }
}

/** Waits for a confirmation with no timeout. */
@Workflow('kit.Patient')
export class Patient {
  async run(ctx: WorkflowContext): Promise<string> {
    const confirmed = await ctx.waitForEvent(Confirmed);
    return `confirmed by ${confirmed?.by}`;
  }
}

/** Charges with a retry policy whose backoff the kit skips. */
@Workflow('kit.Charging')
export class Charging {
  async run(ctx: WorkflowContext, amount: number): Promise<string> {
    const { receipt } = await ctx.activity(charge, amount, {
      retry: { maximumAttempts: 3, initialInterval: '10m', backoffCoefficient: 2, maximumInterval: '1h' },
    });
    return receipt;
  }
}

/** Greets through the class activity, then sleeps a week. */
@Workflow('kit.Greeter')
export class Greeter {
  async run(ctx: WorkflowContext, name: string): Promise<string> {
    const text = await ctx.activity(Greet, name);
    await ctx.sleep('7d');
    return text;
  }
}

/** Sleeps a week. */
@Workflow('kit.Napper')
export class Napper {
  async run(ctx: WorkflowContext): Promise<string> {
    await ctx.sleep('7d');
    return 'rested';
  }
}

/** Fails on purpose after an activity. */
@Workflow('kit.Failing')
export class Failing {
  async run(ctx: WorkflowContext): Promise<never> {
    await ctx.activity(notify, 'about to fail');
    throw new Error('the order is invalid');
  }
}

/** Fans out to an activity and a child workflow at once. */
@Workflow('kit.Batch')
export class Batch {
  async run(ctx: WorkflowContext): Promise<string> {
    const [length, approval] = await ctx.all([ctx.activity(notify, 'batch'), ctx.child(Approval, undefined)]);
    return `${length}: ${approval}`;
  }
}

/** Sleeps an hour per round and continues as new until round 2. */
@Workflow('kit.Looping')
export class Looping {
  async run(ctx: WorkflowContext, round: number): Promise<string> {
    await ctx.sleep('1h');
    if (round < 2) ctx.continueAsNew(round + 1);
    return `done after round ${round}`;
  }
}

export const kitWorkflows = [Shipping, Approval, Patient, Charging, Greeter, Napper, Failing, Batch, Looping];
export const kitActivities = [reserve, charge, ship, notify];
