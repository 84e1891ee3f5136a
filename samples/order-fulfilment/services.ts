import { inject, injectable } from 'inversify';
import { type Handler, type HandlerContext, HandlerFor } from '../../src/index.js';
import { ChargePayment, OrderShipped, PaymentCharged, ShipOrder } from './messages.js';

/** A payment gateway; the sample's fake declines orders whose id starts with `slow-` (it never answers). */
@injectable()
export class PaymentGateway {
  readonly charges: string[] = [];

  async charge(orderId: string, amount: number): Promise<boolean> {
    if (orderId.startsWith('slow-')) return false;
    this.charges.push(`${orderId}:${amount}`);
    return true;
  }
}

/** Handles ChargePayment: charges through the gateway and reports back. */
@HandlerFor(ChargePayment)
export class PaymentService implements Handler<ChargePayment> {
  constructor(@inject(PaymentGateway) private readonly gateway: PaymentGateway) {}

  async handle(msg: ChargePayment, ctx: HandlerContext): Promise<void> {
    if (await this.gateway.charge(msg.orderId, msg.amount))
      await ctx.publish(new PaymentCharged(msg.orderId));
  }
}

/** Handles ShipOrder: ships at once. */
@HandlerFor(ShipOrder)
export class ShippingService implements Handler<ShipOrder> {
  async handle(msg: ShipOrder, ctx: HandlerContext): Promise<void> {
    await ctx.publish(new OrderShipped(msg.orderId));
  }
}
