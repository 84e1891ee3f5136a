import { activity, Workflow, type WorkflowContext } from '../../src/index.js';

/** Activities do the I/O; each runs at least once per attempt, so make them idempotent. */
export const packParcel = activity('checkout.PackParcel', (orderId: string) => `parcel-${orderId}`);
export const bookCourier = activity('checkout.BookCourier', (parcel: string) => `tracking-${parcel}`);
export const shippingActivities = [packParcel, bookCourier];

/** Ordinary async code that resumes where it left off after a crash or a deploy. */
@Workflow('checkout.Shipping')
export class Shipping {
  async run(ctx: WorkflowContext, input: { orderId: string }): Promise<string> {
    const parcel = await ctx.activity(packParcel, input.orderId);
    return ctx.activity(bookCourier, parcel);
  }
}
