/**
 * Changing workflow code safely: the recipe for changing a workflow while instances of it are
 * running, in three deploys after the original code. Each class is the `Checkout` workflow as one
 * deploy ships it (same `@Workflow` name; a real app has one class and changes its body).
 * `test/workflows/versioning-sample.test.ts` runs the four deploys one after the other.
 */
import { activity, Workflow, type WorkflowContext } from '../../src/index.js';

export interface Order {
  readonly id: string;
}

export const chargeCard = activity('checkout.ChargeCard', (order: Order) => `charged ${order.id}`);
export const sendReceipt = activity('checkout.SendReceipt', (order: Order) => `receipt for ${order.id}`);
export const ship = activity('checkout.Ship', (order: Order) => `shipped ${order.id}`);

// The original code: charge, wait a day, ship.
@Workflow('Checkout')
export class CheckoutOriginal {
  async run(ctx: WorkflowContext, order: Order): Promise<string> {
    await ctx.activity(chargeCard, order);
    await ctx.sleep('1d');
    return ctx.activity(ship, order);
  }
}

// Deploy 1, patch: send a receipt after charging. Instances whose history is already past this
// point (they are waiting to ship) keep the old path; new ones take the new path.
@Workflow('Checkout')
export class CheckoutPatched {
  async run(ctx: WorkflowContext, order: Order): Promise<string> {
    await ctx.activity(chargeCard, order);
    if (ctx.patched('send-receipt')) await ctx.activity(sendReceipt, order);
    await ctx.sleep('1d');
    return ctx.activity(ship, order);
  }
}

// Deploy 2, deprecate: once no instance that took the old path is running, keep only the new path.
// The marker is still recorded, so rolling back to deploy 1 keeps new instances on the new path.
@Workflow('Checkout')
export class CheckoutDeprecated {
  async run(ctx: WorkflowContext, order: Order): Promise<string> {
    await ctx.activity(chargeCard, order);
    ctx.deprecatePatch('send-receipt');
    await ctx.activity(sendReceipt, order);
    await ctx.sleep('1d');
    return ctx.activity(ship, order);
  }
}

// Deploy 3, remove: once no instance started before deploy 2 is running (so no rollback to
// deploy 1 is needed), the patch id goes away. Markers left in histories are ignored.
@Workflow('Checkout')
export class CheckoutCleaned {
  async run(ctx: WorkflowContext, order: Order): Promise<string> {
    await ctx.activity(chargeCard, order);
    await ctx.activity(sendReceipt, order);
    await ctx.sleep('1d');
    return ctx.activity(ship, order);
  }
}

export const checkoutActivities = [chargeCard, sendReceipt, ship];
