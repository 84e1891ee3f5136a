import { inject, injectable } from 'inversify';
import { type Handler, type HandlerContext, HandlerFor, WorkflowClient } from '../../src/index.js';
import { CardCharged, ChargeCard, OrderConfirmed } from './messages.js';
import { Shipping } from './shipping-workflow.js';

/** Your own service, bound in the container like any other. This fake declines amounts over 1000. */
@injectable()
export class CardGateway {
  readonly charged: string[] = [];

  async charge(orderId: string, amount: number): Promise<boolean> {
    if (amount > 1000) return false;
    this.charged.push(orderId);
    return true;
  }
}

/** A plain handler: no state of its own, so it must be safe to run twice (it may be redelivered). */
@HandlerFor(ChargeCard)
export class PaymentHandler implements Handler<ChargeCard> {
  constructor(@inject(CardGateway) private readonly gateway: CardGateway) {}

  async handle(msg: ChargeCard, ctx: HandlerContext): Promise<void> {
    if (await this.gateway.charge(msg.orderId, msg.amount)) await ctx.publish(new CardCharged(msg.orderId));
  }
}

/** Starts the shipping workflow of a confirmed order; the id makes a second start a no-op. */
@HandlerFor(OrderConfirmed)
export class StartShipping implements Handler<OrderConfirmed> {
  constructor(@inject(WorkflowClient) private readonly workflows: WorkflowClient) {}

  async handle(msg: OrderConfirmed): Promise<void> {
    await this.workflows.start(Shipping, { orderId: msg.orderId }, { id: `ship-${msg.orderId}` });
  }
}
