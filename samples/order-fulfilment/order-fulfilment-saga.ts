import { Handles, OnTimeout, Saga, type SagaContext, StartedBy } from '../../src/index.js';
import {
  ChargePayment,
  OrderCancelled,
  OrderCompleted,
  OrderPlaced,
  OrderShipped,
  PaymentCharged,
  PaymentOverdue,
  ShipOrder,
} from './messages.js';

export interface OrderState {
  total: number;
  status: 'awaiting-payment' | 'shipping';
  placedAt: Date;
}

/** Place → charge payment (15 minutes to pay) → ship → complete; an overdue payment cancels. */
@Saga('OrderFulfilment')
export class OrderFulfilment {
  // A second OrderPlaced for the order (a client retry with a new id) is logged and ignored, before
  // and after completion: @StartedBy's defaults, onExisting and onCompleted 'ignore'.
  @StartedBy(OrderPlaced, { correlateBy: (m) => m.orderId })
  async placed(msg: OrderPlaced, ctx: SagaContext<OrderState>): Promise<void> {
    ctx.state = { total: msg.total, status: 'awaiting-payment', placedAt: ctx.now() };
    await ctx.send(new ChargePayment(msg.orderId, msg.total));
    await ctx.requestTimeout(new PaymentOverdue(msg.orderId), { after: '15m' });
  }

  @Handles(PaymentCharged, { correlateBy: (m) => m.orderId })
  async charged(msg: PaymentCharged, ctx: SagaContext<OrderState>): Promise<void> {
    ctx.state.status = 'shipping';
    await ctx.cancelTimeout(PaymentOverdue);
    await ctx.send(new ShipOrder(msg.orderId));
  }

  @Handles(OrderShipped, { correlateBy: (m) => m.orderId })
  async shipped(msg: OrderShipped, ctx: SagaContext<OrderState>): Promise<void> {
    await ctx.publish(new OrderCompleted(msg.orderId));
    ctx.complete();
  }

  @OnTimeout(PaymentOverdue)
  async overdue(msg: PaymentOverdue, ctx: SagaContext<OrderState>): Promise<void> {
    await ctx.publish(new OrderCancelled(msg.orderId, 'payment overdue'));
    ctx.complete();
  }
}
