import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { SagaTestKit } from '../../src/testing/index.js';
import { Checkout } from './checkout-saga.js';
import { ChargeCard, OrderCancelled, OrderConfirmed, OrderPlaced } from './messages.js';
import { CardGateway, PaymentHandler, StartShipping } from './services.js';
import { Shipping, shippingActivities } from './shipping-workflow.js';

const start = () =>
  SagaTestKit.start({
    sagas: [Checkout],
    handlers: [PaymentHandler, StartShipping],
    workflows: [Shipping],
    activities: shippingActivities,
    configure: (container) => container.bind(CardGateway).toSelf().inSingletonScope(),
  });

describe('checkout', () => {
  it('charges the card, confirms the order and ships it', async () => {
    const kit = await start();
    await kit.given(new OrderPlaced('o-1', 25));
    expect(kit.sent(ChargeCard)).toEqual([new ChargeCard('o-1', 25)]);
    expect(kit.published(OrderConfirmed)).toEqual([new OrderConfirmed('o-1')]);
    expect(await kit.status(Checkout, 'o-1')).toBe('completed');
    expect((await kit.workflows.status('ship-o-1'))?.result).toBe('tracking-parcel-o-1');
  });

  it('cancels the order when the payment does not come within 10 minutes', async () => {
    const kit = await start();
    await kit.given(new OrderPlaced('o-2', 5000)); // the fake gateway declines it
    await kit.advance('10m');
    expect(kit.published(OrderCancelled)).toEqual([new OrderCancelled('o-2', 'payment overdue')]);
  });

  it('sends an order with a wrong field type to the error queue, with the reason', async () => {
    const kit = await start();
    await kit.given(Object.assign(new OrderPlaced('o-3', 0), { amount: 'lots' }));
    expect(kit.errors()).toEqual([
      expect.objectContaining({
        reason: 'decode/invalid',
        error: expect.stringContaining('amount must be a positive number, got "lots"'),
      }),
    ]);
    expect(await kit.status(Checkout, 'o-3')).toBe('none');
  });
});
