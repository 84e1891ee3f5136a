/** Events fan out to their subscribers only, commands reach their owner, unroutable sends fail loudly. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Command,
  Event,
  type Handler,
  type HandlerContext,
  HandlerFor,
  Headers,
  InMemorySagaStore,
  Saga,
  type SagaContext,
  StartedBy,
  UnroutableError,
} from '../../../src/index.js';
import { eventually, queueDepth, queueExists, sleep, TestBed } from './support.js';

@Event('it.routing.OrderPlaced')
class OrderPlaced {
  constructor(readonly orderId: string) {}
}

@Event('it.routing.StockCounted')
class StockCounted {
  constructor(readonly sku: string) {}
}

@Command('it.routing.ShipOrder')
class ShipOrder {
  constructor(readonly orderId: string) {}
}

@Command('it.routing.Refund')
class Refund {
  constructor(readonly orderId: string) {}
}

const seen: Record<string, string[]> = {};
const record = (endpoint: string, what: string): void => {
  (seen[endpoint] ??= []).push(what);
};

@HandlerFor(OrderPlaced)
class Invoicer implements Handler<OrderPlaced> {
  handle(message: OrderPlaced, context: HandlerContext): void {
    record('billing', `${context.envelope.type}:${message.orderId}`);
  }
}

@HandlerFor(StockCounted)
class Auditor implements Handler<StockCounted> {
  handle(message: StockCounted): void {
    record('audit', `StockCounted:${message.sku}`);
  }
}

@HandlerFor(ShipOrder)
class Shipper implements Handler<ShipOrder> {
  handle(message: ShipOrder): void {
    record('shipping', `ShipOrder:${message.orderId}`);
  }
}

interface PackingState {
  orderId: string;
}

@Saga('it.routing.Packing')
class Packing {
  @StartedBy(OrderPlaced, { correlateBy: (m) => m.orderId })
  placed(message: OrderPlaced, context: SagaContext<PackingState>): void {
    context.state = { orderId: message.orderId };
    record('shipping', `saga:${message.orderId}`);
  }
}

describe('RabbitMQ routing', () => {
  let bed: TestBed;

  beforeEach(() => {
    bed = new TestBed();
    for (const key of Object.keys(seen)) delete seen[key];
  });
  afterEach(() => bed.dispose());

  /** billing and shipping subscribe to OrderPlaced, audit does not; sales handles nothing. */
  async function startShop() {
    const shippingStore = new InMemorySagaStore();
    const billing = bed.endpoint(bed.transport(), { name: 'billing', handlers: [Invoicer] });
    const shipping = bed.endpoint(bed.transport(), {
      name: 'shipping',
      sagas: [Packing],
      handlers: [Shipper],
      sagaStore: shippingStore,
    });
    const audit = bed.endpoint(bed.transport(), { name: 'audit', handlers: [Auditor] });
    const sales = bed.endpoint(bed.transport(), {
      name: 'sales',
      routes: { 'it.routing.ShipOrder': 'shipping', 'it.routing.Refund': 'refunds' },
    });
    for (const endpoint of [billing, shipping, audit, sales]) await endpoint.start();
    return { sales, shippingStore };
  }

  it('delivers an event to every subscribed endpoint and to no other', async () => {
    const { sales, shippingStore } = await startShop();
    await sales.bus.publish(new OrderPlaced('o-1'));
    await eventually(() => seen.billing?.length === 1 && seen.shipping?.length === 1, 'both subscribers');
    expect(seen.billing).toEqual(['it.routing.OrderPlaced:o-1']);
    expect(seen.shipping).toEqual(['saga:o-1']);
    expect((await shippingStore.findByCorrelation('it.routing.Packing', 'o-1'))?.state).toEqual({
      orderId: 'o-1',
    });
    await sleep(300);
    expect(seen.audit).toBeUndefined();
    expect(await queueDepth(bed.queue('audit'))).toBe(0);
    // sales handles nothing: send-only, it has no queue to receive anything in.
    expect(await queueExists(bed.queue('sales'))).toBe(false);
  });

  it('delivers a command to the endpoint that owns it only', async () => {
    const { sales } = await startShop();
    await sales.bus.send(new ShipOrder('o-2'));
    await eventually(() => seen.shipping?.length === 1, 'the owner');
    expect(seen.shipping).toEqual(['ShipOrder:o-2']);
    await sleep(300);
    expect(seen.billing).toBeUndefined();
    expect(seen.audit).toBeUndefined();
  });

  it('rejects a command to an endpoint whose queue does not exist, naming it', async () => {
    const { sales } = await startShop();
    const error = await sales.bus.send(new Refund('o-3')).then(
      () => undefined,
      (reason: unknown) => reason as Error,
    );
    expect(error?.message).toContain(`queue '${bed.prefix}refunds'`);
    // The core's outbox wraps the transport's error (PartialDispatchError) with it as the cause.
    const cause = error instanceof UnroutableError ? error : error?.cause;
    expect(cause).toBeInstanceOf(UnroutableError);
    // The transport is still usable afterwards.
    await sales.bus.send(new ShipOrder('o-4'));
    await eventually(() => seen.shipping?.includes('ShipOrder:o-4') === true, 'the next command');
  });

  it('rejects a publish without a type header and accepts an event nobody subscribed to', async () => {
    const transport = bed.transport();
    await transport.start();
    const body = Buffer.from('{}');
    await expect(transport.publish({ messageId: 'm-1', headers: {}, body })).rejects.toBeInstanceOf(
      UnroutableError,
    );
    await expect(
      transport.publish({ messageId: 'm-2', headers: { [Headers.type]: 'it.routing.NobodyListens' }, body }),
    ).resolves.toBeUndefined();
  });

  it('shares one queue between competing consumers on separate connections, each message once', async () => {
    const byConsumer: Record<string, string[]> = { first: [], second: [] };
    const competitors = ['first', 'second'].map((who) =>
      bed.endpoint(bed.transport({ connectionName: `${bed.connectionName}-${who}` }), {
        name: 'shipping',
        handlers: [Shipper],
        concurrency: 2,
        onHandled: (handled) => byConsumer[who]?.push(handled.envelope.id),
      }),
    );
    for (const endpoint of competitors) await endpoint.start();
    const sender = competitors[0]!;
    const ids = await Promise.all(
      Array.from({ length: 100 }, (_, n) => sender.bus.send(new ShipOrder(`c-${n}`))),
    );
    await eventually(() => byConsumer.first!.length + byConsumer.second!.length >= 100, 'all 100 handled');
    await sleep(200);
    expect([...byConsumer.first!, ...byConsumer.second!].sort()).toEqual([...ids].sort());
    expect(byConsumer.first!.length).toBeGreaterThan(0);
    expect(byConsumer.second!.length).toBeGreaterThan(0);
  });
});
