/** The order-fulfilment sample, unchanged, end to end on RabbitMQ (stores in memory, virtual time). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Bus,
  type Endpoint,
  type Handler,
  type HandlerContext,
  HandlerFor,
  silentLogger,
  VirtualClock,
} from '../../../src/index.js';
import { OrderCancelled, OrderCompleted, OrderPlaced } from '../../../samples/order-fulfilment/messages.js';
import { PaymentGateway } from '../../../samples/order-fulfilment/services.js';
import { createShop } from '../../../samples/order-fulfilment/setup.js';
import { eventually, TestBed } from './support.js';

const outcomes: string[] = [];

/** Another endpoint that hears how orders end. */
@HandlerFor(OrderCompleted, OrderCancelled)
class OrderAudit implements Handler<OrderCompleted | OrderCancelled> {
  handle(message: OrderCompleted | OrderCancelled, context: HandlerContext): void {
    outcomes.push(`${context.envelope.type}:${message.orderId}`);
  }
}

describe('order-fulfilment sample on RabbitMQ', () => {
  let bed: TestBed;
  let shop: Endpoint | undefined;

  beforeEach(() => {
    bed = new TestBed();
    outcomes.length = 0;
  });
  afterEach(async () => {
    await shop?.stop();
    await bed.dispose();
  });

  it('completes a paid order and cancels an unpaid one when its payment timeout fires', async () => {
    const clock = new VirtualClock(new Date());
    const audit = bed.endpoint(bed.transport(), { name: 'audit', handlers: [OrderAudit] });
    await audit.start();
    const created = createShop({
      transport: bed.transport(),
      clock,
      logger: silentLogger,
      timeouts: { pollInterval: Infinity },
      outbox: { sweepInterval: Infinity },
    });
    shop = created.endpoint;
    await shop.start();
    const bus = created.container.get(Bus);

    await bus.publish(new OrderPlaced('o-1', 42));
    await bus.publish(new OrderPlaced('slow-2', 99));
    await eventually(() => outcomes.includes('shop.OrderCompleted:o-1'), 'order o-1 completed');
    expect(created.container.get(PaymentGateway).charges).toEqual(['o-1:42']);

    // Exactly the 15 minutes: moving past the timeout's 30 s lease would let a second look at
    // the timeout store deliver it again (legitimately, at-least-once) while the first is in flight.
    await clock.advance('15m');
    await eventually(async () => {
      await shop?.deliverDueTimeouts();
      return outcomes.includes('shop.OrderCancelled:slow-2');
    }, 'order slow-2 cancelled');
    expect(outcomes.sort()).toEqual(['shop.OrderCancelled:slow-2', 'shop.OrderCompleted:o-1']);
    const errors = await Promise.all(
      ['shop', 'audit'].map((name) => bed.transport().errorQueues.count(name)),
    );
    expect(errors).toEqual([0, 0]);
  });
});
