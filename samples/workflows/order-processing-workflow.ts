import {
  activity,
  NonRetryableError,
  OperationFailedError,
  Workflow,
  type WorkflowContext,
} from '../../src/index.js';

export interface Order {
  orderId: string;
  amount: number;
  address: string;
}

/** What the sample's fake services did, in order (the tests read it). */
export const ledger: string[] = [];

export const validateOrder = activity('orders.Validate', (order: Order) => {
  if (order.amount <= 0) throw new NonRetryableError(`amount must be positive, got ${order.amount}`);
  ledger.push(`validated ${order.orderId}`);
});

export const chargePayment = activity('orders.Charge', (order: Order) => {
  ledger.push(`charged ${order.orderId} ${order.amount}`);
  return `payment-${order.orderId}`;
});

export const shipOrder = activity('orders.Ship', (order: Order) => {
  if (order.address === 'nowhere') throw new NonRetryableError(`cannot ship to '${order.address}'`);
  ledger.push(`shipped ${order.orderId}`);
  return `parcel-${order.orderId}`;
});

export const refundPayment = activity('orders.Refund', (paymentId: string) => {
  ledger.push(`refunded ${paymentId}`);
});

/** Validate → charge → ship; when shipping fails, refund the charge (compensation) and report it. */
@Workflow('orders.OrderProcessing')
export class OrderProcessing {
  async run(ctx: WorkflowContext, order: Order): Promise<{ status: 'shipped' | 'refunded'; detail: string }> {
    await ctx.activity(validateOrder, order);
    const paymentId = await ctx.activity(chargePayment, order);
    try {
      const parcel = await ctx.activity(shipOrder, order, {
        retry: { maximumAttempts: 3, initialInterval: '30s' },
      });
      return { status: 'shipped', detail: parcel };
    } catch (error) {
      await ctx.activity(refundPayment, paymentId);
      return { status: 'refunded', detail: (error as OperationFailedError).failure.message };
    }
  }
}

export const orderActivities = [validateOrder, chargePayment, shipOrder, refundPayment];
