/**
 * Both samples end to end on the MongoDB saga and timeout stores (gated test store) with the
 * in-memory transport and a virtual clock that fires their timeouts.
 */
import { describe, expect, it } from 'vitest';
import {
  type Endpoint,
  Headers,
  InMemoryTransport,
  silentLogger,
  VirtualClock,
  type EndpointOptions,
} from '../../../src/index.js';
import { MongoSagaStore } from '../../../src/persistence/mongodb/index.js';
import { MongoTimeoutStore } from '../../../src/timeouts/mongodb/index.js';
import {
  OrderCancelled,
  OrderCompleted,
  OrderPlaced,
  PaymentCharged,
  type ShipOrder,
} from '../../../samples/order-fulfilment/messages.js';
import { PaymentGateway } from '../../../samples/order-fulfilment/services.js';
import { createShop } from '../../../samples/order-fulfilment/setup.js';
import {
  EmailVerified,
  RegisterUser,
  type SendVerificationEmail,
  UserActivated,
  UserDeleted,
} from '../../../samples/user-registration/messages.js';
import { createAccounts } from '../../../samples/user-registration/setup.js';
import { databaseFor, eventually, suiteFixture, storeOptions } from './support.js';

interface Rig {
  clock: VirtualClock;
  transport: InMemoryTransport;
  sagaStore: MongoSagaStore;
  timeoutStore: MongoTimeoutStore;
  options: Partial<EndpointOptions>;
}

describe('samples on the MongoDB stores', () => {
  const fixture = suiteFixture();
  const cleanup = fixture.cleanup;

  function rig(): Rig {
    const database = databaseFor('samples');
    const clock = new VirtualClock(new Date('2026-03-02T09:00:00Z'));
    const transport = new InMemoryTransport(clock);
    const sagaStore = new MongoSagaStore(storeOptions(database));
    const timeoutStore = new MongoTimeoutStore(storeOptions(database));
    cleanup.push(async () => {
      await sagaStore.close();
      await timeoutStore.close();
      await fixture.raw.db(database).dropDatabase();
    });
    return {
      clock,
      transport,
      sagaStore,
      timeoutStore,
      options: {
        transport,
        sagaStore,
        timeoutStore,
        clock,
        logger: silentLogger,
        timeouts: { pollInterval: Infinity },
        outbox: { sweepInterval: Infinity },
      },
    };
  }

  async function run(endpoint: Endpoint): Promise<void> {
    await endpoint.start();
    cleanup.push(() => endpoint.stop());
  }

  /** Bodies of the messages of `type` the transport accepted (published or sent). */
  function emitted<T>(transport: InMemoryTransport, type: string): T[] {
    return transport.log
      .filter(
        (r) =>
          (r.operation === 'publish' || r.operation === 'send') && r.message.headers[Headers.type] === type,
      )
      .map((r) => JSON.parse(r.message.body.toString('utf8')) as T);
  }

  /** Moves time forward, then delivers due timeouts until `done` holds (the store is real I/O). */
  async function fireTimeouts(r: Rig, endpoint: Endpoint, by: string, done: () => boolean): Promise<void> {
    await r.clock.advance(by);
    const ok = await eventually(async () => {
      await endpoint.deliverDueTimeouts();
      await r.transport.whenIdle();
      return done();
    });
    expect(ok).toBe(true);
  }

  it('order fulfilment: charges, ships and completes; an unpaid order is cancelled by its timeout', async () => {
    const r = rig();
    const { endpoint, container } = createShop(r.options);
    await run(endpoint);

    await endpoint.bus.publish(new OrderPlaced('o-1', 42));
    await r.transport.whenIdle();
    expect(emitted(r.transport, 'shop.OrderCompleted')).toEqual([{ ...new OrderCompleted('o-1') }]);
    expect(container.get(PaymentGateway).charges).toEqual(['o-1:42']);
    const done = await r.sagaStore.findByCorrelation('OrderFulfilment', 'o-1');
    expect(done).toMatchObject({ status: 'completed', state: null, outbox: [] });
    expect(await r.timeoutStore.listBySaga('OrderFulfilment', done!.id)).toEqual([]);

    await endpoint.bus.publish(new OrderPlaced('slow-2', 6));
    await r.transport.whenIdle();
    const waiting = await r.sagaStore.findByCorrelation('OrderFulfilment', 'slow-2');
    expect(waiting?.state).toEqual({ total: 6, status: 'awaiting-payment', placedAt: r.clock.now() });
    const [overdue] = await r.timeoutStore.listBySaga('OrderFulfilment', waiting!.id);
    expect(overdue?.dueAt).toEqual(new Date(r.clock.now().getTime() + 15 * 60_000));

    await r.clock.advance('14m');
    expect(await endpoint.deliverDueTimeouts()).toBe(0);
    await fireTimeouts(r, endpoint, '1m', () => emitted(r.transport, 'shop.OrderCancelled').length > 0);
    expect(emitted(r.transport, 'shop.OrderCancelled')).toEqual([
      { ...new OrderCancelled('slow-2', 'payment overdue') },
    ]);
    expect((await r.sagaStore.findByCorrelation('OrderFulfilment', 'slow-2'))?.status).toBe('completed');
    expect(await r.timeoutStore.nextDueAt()).toBeUndefined();

    await endpoint.bus.publish(new PaymentCharged('slow-2'));
    await r.transport.whenIdle();
    expect(emitted<ShipOrder>(r.transport, 'shipping.ShipOrder').map((m) => m.orderId)).toEqual(['o-1']);
    expect(r.transport.errors('shop')).toEqual([]);
  });

  it('user registration: activates on the right secret; deletes the user after 3 days without one', async () => {
    const r = rig();
    await r.transport.declareEndpoint({ name: 'mail', subscriptions: [] });
    const { endpoint } = createAccounts(r.options);
    await run(endpoint);

    await endpoint.bus.send(new RegisterUser('u-1', 'ada@example.com'));
    await r.transport.whenIdle();
    const [mail] = emitted<SendVerificationEmail>(r.transport, 'mail.SendVerificationEmail');
    expect(mail).toMatchObject({ userId: 'u-1', email: 'ada@example.com' });
    await endpoint.bus.publish(new EmailVerified('u-1', 'wrong'));
    await r.transport.whenIdle();
    expect((await r.sagaStore.findByCorrelation('UserRegistration', 'u-1'))?.state).toMatchObject({
      attempts: 1,
    });
    await endpoint.bus.publish(new EmailVerified('u-1', mail!.secret));
    await r.transport.whenIdle();
    expect(emitted(r.transport, 'accounts.UserActivated')).toEqual([{ ...new UserActivated('u-1') }]);
    expect((await r.sagaStore.findByCorrelation('UserRegistration', 'u-1'))?.status).toBe('completed');

    await endpoint.bus.send(new RegisterUser('u-2', 'bob@example.com'));
    await endpoint.bus.send(new RegisterUser('u-2', 'bob@example.com'));
    await r.transport.whenIdle();
    expect(emitted(r.transport, 'mail.SendVerificationEmail')).toHaveLength(2);
    await r.clock.advance('2d23h59m');
    expect(await endpoint.deliverDueTimeouts()).toBe(0);
    await fireTimeouts(r, endpoint, '1m', () => emitted(r.transport, 'accounts.UserDeleted').length > 0);
    expect(emitted(r.transport, 'accounts.UserDeleted')).toEqual([
      { ...new UserDeleted('u-2', 'email not verified within 3 days') },
    ]);
    expect(emitted(r.transport, 'accounts.UserActivated')).toHaveLength(1);
    expect(r.transport.errors('accounts')).toEqual([]);
  });
});
