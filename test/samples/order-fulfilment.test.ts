import { describe, expect, it } from 'vitest';
import { SagaTestKit } from '../../src/testing/index.js';
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
import { OrderFulfilment } from '../../samples/order-fulfilment/order-fulfilment-saga.js';
import { PaymentGateway, PaymentService, ShippingService } from '../../samples/order-fulfilment/services.js';

const routes = { 'payments.*': 'payments', 'shipping.*': 'shipping' };

describe('order fulfilment saga (test kit, virtual clock)', () => {
  it('charges, waits for payment with a 15-minute timeout, ships, and completes', async () => {
    const kit = await SagaTestKit.start({ sagas: [OrderFulfilment], routes });
    await kit.given(new OrderPlaced('o-1', 42));
    expect(kit.sent(ChargePayment)).toEqual([new ChargePayment('o-1', 42)]);
    expect(kit.emitted(ChargePayment)[0]?.destination).toBe('payments');
    expect(await kit.state(OrderFulfilment, 'o-1')).toMatchObject({ total: 42, status: 'awaiting-payment' });
    const [timeout] = await kit.timeouts(OrderFulfilment, 'o-1');
    expect(timeout?.message).toEqual(new PaymentOverdue('o-1'));
    expect(timeout?.dueAt).toEqual(new Date(kit.clock.now().getTime() + 15 * 60_000));

    await kit.when(new PaymentCharged('o-1'));
    expect(kit.sent(ShipOrder)).toEqual([new ShipOrder('o-1')]);
    expect(await kit.timeouts(OrderFulfilment, 'o-1')).toEqual([]);

    await kit.when(new OrderShipped('o-1'));
    expect(kit.published(OrderCompleted)).toEqual([new OrderCompleted('o-1')]);
    expect(await kit.status(OrderFulfilment, 'o-1')).toBe('completed');
    await kit.advance('1h');
    expect(kit.published(OrderCancelled)).toEqual([]);
    await kit.stop();
  });

  it('cancels the order when the payment is overdue, and ignores a late payment', async () => {
    const kit = await SagaTestKit.start({ sagas: [OrderFulfilment], routes });
    await kit.given(new OrderPlaced('o-2', 10));
    await kit.advance('14m');
    expect(kit.published(OrderCancelled)).toEqual([]);
    await kit.advance('1m');
    expect(kit.published(OrderCancelled)).toEqual([new OrderCancelled('o-2', 'payment overdue')]);
    expect(await kit.status(OrderFulfilment, 'o-2')).toBe('completed');
    kit.clearEmitted();
    await kit.when(new PaymentCharged('o-2'));
    expect(kit.sent(ShipOrder)).toEqual([]);
    expect(kit.errors()).toEqual([]);
    await kit.stop();
  });

  it('a second OrderPlaced (a new id: a client retry) charges once, before and after completion', async () => {
    const kit = await SagaTestKit.start({ sagas: [OrderFulfilment], routes });
    await kit.given(new OrderPlaced('o-4', 42));
    await kit.when(new OrderPlaced('o-4', 42));
    expect(kit.sent(ChargePayment)).toEqual([new ChargePayment('o-4', 42)]);
    expect(await kit.timeouts(OrderFulfilment, 'o-4')).toHaveLength(1);
    await kit.when(new PaymentCharged('o-4'));
    await kit.when(new OrderShipped('o-4'));
    await kit.when(new OrderPlaced('o-4', 42));
    expect(kit.sent(ChargePayment)).toHaveLength(1);
    expect(await kit.status(OrderFulfilment, 'o-4')).toBe('completed');
    expect(kit.errors()).toEqual([]);
    await kit.stop();
  });

  it('rejects an order with a non-positive total into the error queue', async () => {
    const kit = await SagaTestKit.start({ sagas: [OrderFulfilment], routes });
    await kit.given(new OrderPlaced('o-3', 0));
    expect(kit.errors().map((e) => e.reason)).toEqual(['decode/invalid']);
    expect(await kit.status(OrderFulfilment, 'o-3')).toBe('none');
    await kit.stop();
  });

  it('runs with the real payment and shipping handlers on one endpoint', async () => {
    const kit = await SagaTestKit.start({
      sagas: [OrderFulfilment],
      handlers: [PaymentService, ShippingService],
      configure: (c) => c.bind(PaymentGateway).toSelf().inSingletonScope(),
    });
    await kit.given(new OrderPlaced('o-4', 5), new OrderPlaced('slow-5', 6));
    expect(kit.published(OrderCompleted)).toEqual([new OrderCompleted('o-4')]);
    expect(kit.container.get(PaymentGateway).charges).toEqual(['o-4:5']);
    await kit.advance('15m');
    expect(kit.published(OrderCancelled)).toEqual([new OrderCancelled('slow-5', 'payment overdue')]);
    await kit.stop();
  });
});
