import { Handles, OnTimeout, Saga, type SagaContext, StartedBy } from '../../src/index.js';
import {
  CardCharged,
  ChargeCard,
  OrderCancelled,
  OrderConfirmed,
  OrderPlaced,
  PaymentOverdue,
} from './messages.js';

export interface CheckoutState {
  amount: number;
}

/** One instance per order: charge the card, confirm the order, or cancel it after 10 minutes. */
@Saga('checkout.Checkout')
export class Checkout {
  @StartedBy(OrderPlaced, { correlateBy: (m) => m.orderId })
  async placed(msg: OrderPlaced, ctx: SagaContext<CheckoutState>): Promise<void> {
    ctx.state = { amount: msg.amount };
    await ctx.send(new ChargeCard(msg.orderId, msg.amount));
    await ctx.requestTimeout(new PaymentOverdue(msg.orderId), { after: '10m' });
  }

  @Handles(CardCharged, { correlateBy: (m) => m.orderId })
  async charged(msg: CardCharged, ctx: SagaContext<CheckoutState>): Promise<void> {
    await ctx.publish(new OrderConfirmed(msg.orderId));
    ctx.complete(); // also cancels the PaymentOverdue timeout
  }

  @OnTimeout(PaymentOverdue)
  async overdue(msg: PaymentOverdue, ctx: SagaContext<CheckoutState>): Promise<void> {
    await ctx.publish(new OrderCancelled(msg.orderId, 'payment overdue'));
    ctx.complete();
  }
}
