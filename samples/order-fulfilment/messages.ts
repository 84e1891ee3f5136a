import { Command, Event, Message } from '../../src/index.js';

@Event('shop.OrderPlaced', {
  validate: (m: OrderPlaced) => (m.total > 0 ? [] : [`total must be positive, got ${m.total}`]),
})
export class OrderPlaced {
  constructor(
    readonly orderId: string,
    readonly total: number,
  ) {}
}

@Command('payments.ChargePayment')
export class ChargePayment {
  constructor(
    readonly orderId: string,
    readonly amount: number,
  ) {}
}

@Event('payments.PaymentCharged')
export class PaymentCharged {
  constructor(readonly orderId: string) {}
}

@Command('shipping.ShipOrder')
export class ShipOrder {
  constructor(readonly orderId: string) {}
}

@Event('shipping.OrderShipped')
export class OrderShipped {
  constructor(readonly orderId: string) {}
}

@Event('shop.OrderCompleted')
export class OrderCompleted {
  constructor(readonly orderId: string) {}
}

@Event('shop.OrderCancelled')
export class OrderCancelled {
  constructor(
    readonly orderId: string,
    readonly reason: string,
  ) {}
}

/** The timeout message: payment did not arrive in time. */
@Message('shop.PaymentOverdue')
export class PaymentOverdue {
  constructor(readonly orderId: string) {}
}
