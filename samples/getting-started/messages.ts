import { Command, Event, Message } from '../../src/index.js';

/**
 * The validation recipe: a function that lists what is wrong with a received body (an empty list
 * means valid). It runs on every delivery before any handler; a body it rejects goes to the
 * endpoint's error queue at once, with the reason `decode/invalid` and these problems.
 */
function validOrder(order: OrderPlaced): string[] {
  const problems: string[] = [];
  if (typeof order.orderId !== 'string' || order.orderId === '')
    problems.push('orderId must be a non-empty string');
  if (typeof order.amount !== 'number' || !Number.isFinite(order.amount) || order.amount <= 0) {
    problems.push(`amount must be a positive number, got ${JSON.stringify(order.amount)}`);
  }
  return problems;
}

/** An order was placed: starts a checkout. Events are published to every endpoint that handles them. */
@Event('checkout.OrderPlaced', { validate: validOrder })
export class OrderPlaced {
  constructor(
    readonly orderId: string,
    readonly amount: number,
  ) {}
}

/** Charge the customer's card: a command, sent to the one endpoint that handles it. */
@Command('checkout.ChargeCard')
export class ChargeCard {
  constructor(
    readonly orderId: string,
    readonly amount: number,
  ) {}
}

@Event('checkout.CardCharged')
export class CardCharged {
  constructor(readonly orderId: string) {}
}

@Event('checkout.OrderConfirmed')
export class OrderConfirmed {
  constructor(readonly orderId: string) {}
}

@Event('checkout.OrderCancelled')
export class OrderCancelled {
  constructor(
    readonly orderId: string,
    readonly reason: string,
  ) {}
}

/** A timeout the checkout saga sets itself: the payment did not come in time. */
@Message('checkout.PaymentOverdue')
export class PaymentOverdue {
  constructor(readonly orderId: string) {}
}
