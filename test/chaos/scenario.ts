/**
 * What the chaos workers run: a variant of the order-fulfilment saga (samples/order-fulfilment)
 * whose payment-overdue timeout is short for "slow" orders, and the downstream handlers, each of
 * which records its side effect in the effect ledger (ledger.ts) before emitting anything.
 *
 * Message classes are the sample's own, so the wire format is the sample's.
 */
import {
  type Duration,
  type Handler,
  type HandlerContext,
  HandlerFor,
  Handles,
  OnTimeout,
  Saga,
  type SagaContext,
  StartedBy,
} from '../../src/index.js';
import {
  ChargePayment,
  OrderCancelled,
  OrderCompleted,
  OrderPlaced,
  OrderShipped,
  PaymentCharged,
  PaymentOverdue,
  ShipOrder,
} from '../../samples/order-fulfilment/messages.js';
import { recordEffect } from './ledger.js';

export {
  ChargePayment,
  OrderCancelled,
  OrderCompleted,
  OrderPlaced,
  OrderShipped,
  PaymentCharged,
  PaymentOverdue,
  ShipOrder,
};

/** Orders whose id starts with this are never answered by the payment service: they time out. */
export const SLOW = 'slow-';

/** The overdue timeout of slow orders (`LH_CHAOS_OVERDUE`, default 3s); others get the sample's 15m. */
function overdueAfter(orderId: string): Duration {
  return orderId.startsWith(SLOW) ? (process.env.LH_CHAOS_OVERDUE ?? '3s') : '15m';
}

interface ChaosOrderState {
  total: number;
  status: 'awaiting-payment' | 'shipping';
}

/** The sample's saga, with {@link overdueAfter} as its timeout. */
@Saga('chaos.OrderFulfilment')
export class ChaosOrderFulfilment {
  @StartedBy(OrderPlaced, { correlateBy: (m) => m.orderId })
  async placed(msg: OrderPlaced, ctx: SagaContext<ChaosOrderState>): Promise<void> {
    ctx.state = { total: msg.total, status: 'awaiting-payment' };
    await ctx.send(new ChargePayment(msg.orderId, msg.total));
    await ctx.requestTimeout(new PaymentOverdue(msg.orderId), { after: overdueAfter(msg.orderId) });
  }

  @Handles(PaymentCharged, { correlateBy: (m) => m.orderId })
  async charged(msg: PaymentCharged, ctx: SagaContext<ChaosOrderState>): Promise<void> {
    ctx.state.status = 'shipping';
    await ctx.cancelTimeout(PaymentOverdue);
    await ctx.send(new ShipOrder(msg.orderId));
  }

  @Handles(OrderShipped, { correlateBy: (m) => m.orderId })
  async shipped(msg: OrderShipped, ctx: SagaContext<ChaosOrderState>): Promise<void> {
    await ctx.publish(new OrderCompleted(msg.orderId));
    ctx.complete();
  }

  @OnTimeout(PaymentOverdue)
  async overdue(msg: PaymentOverdue, ctx: SagaContext<ChaosOrderState>): Promise<void> {
    await ctx.publish(new OrderCancelled(msg.orderId, 'payment overdue'));
    ctx.complete();
  }
}

/**
 * Charges (effect `charge`), then reports back. A plain handler has no inbox: on redelivery it runs
 * again, the ledger refuses the second charge, and the same PaymentCharged (same derived id) is
 * published again, which the saga's inbox drops.
 */
@HandlerFor(ChargePayment)
export class ChaosPaymentService implements Handler<ChargePayment> {
  async handle(msg: ChargePayment, ctx: HandlerContext): Promise<void> {
    if (msg.orderId.startsWith(SLOW)) return; // the gateway never answers
    await recordEffect('charge', ctx.envelope.id, msg.orderId);
    await ctx.publish(new PaymentCharged(msg.orderId));
  }
}

/** Ships (effect `ship`), then reports back. */
@HandlerFor(ShipOrder)
export class ChaosShippingService implements Handler<ShipOrder> {
  async handle(msg: ShipOrder, ctx: HandlerContext): Promise<void> {
    await recordEffect('ship', ctx.envelope.id, msg.orderId);
    await ctx.publish(new OrderShipped(msg.orderId));
  }
}

/** Tells the customer the order completed (effect `completed`). */
@HandlerFor(OrderCompleted)
export class ChaosCompletionNotifier implements Handler<OrderCompleted> {
  async handle(msg: OrderCompleted, ctx: HandlerContext): Promise<void> {
    await recordEffect('completed', ctx.envelope.id, msg.orderId);
  }
}

/** Tells the customer the order was cancelled (effect `cancelled`). */
@HandlerFor(OrderCancelled)
export class ChaosCancellationNotifier implements Handler<OrderCancelled> {
  async handle(msg: OrderCancelled, ctx: HandlerContext): Promise<void> {
    await recordEffect('cancelled', ctx.envelope.id, msg.orderId);
  }
}

export const chaosHandlers = [
  ChaosPaymentService,
  ChaosShippingService,
  ChaosCompletionNotifier,
  ChaosCancellationNotifier,
];
