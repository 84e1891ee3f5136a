/**
 * The outbox sweeper on the MongoDB saga store: an entry left pending because publishing failed
 * after the commit (the process "crashed" before dispatching; its retry is an hour away) is
 * dispatched by `endpoint.sweepOutbox()` once its backoff has passed, exactly once. On RabbitMQ +
 * FerretDB: 100 entries to a queue that does not exist are dead-lettered and replayable while a
 * transiently failing one goes out; and two endpoints over one store, with a 400 ms confirm, send
 * an entry once.
 */
import { type MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConsumeOptions,
  type Consumer,
  type DeliveryHandler,
  Endpoint,
  type EndpointTopology,
  Event,
  Headers,
  InMemoryTransport,
  Saga,
  type SagaContext,
  silentLogger,
  StartedBy,
  type Transport,
  VirtualClock,
  type WireMessage,
} from '../../../src/index.js';
import { MongoSagaStore } from '../../../src/persistence/mongodb/index.js';
import { type RabbitMqTransport } from '../../../src/bus/rabbitmq/index.js';
import { codec, envelopeFor } from '../../support/endpoint.js';
import { queueDepth, rawChannel, TestBed } from '../rabbitmq/support.js';
import { databaseFor, eventually, rawClient, storeOptions } from './support.js';

@Event('mongo-sweep.OrderPlaced')
class OrderPlaced {
  constructor(readonly orderId: string) {}
}

@Event('mongo-sweep.OrderAccepted')
class OrderAccepted {
  constructor(readonly orderId: string) {}
}

@Saga('MongoSweepOrder')
class SweepOrder {
  @StartedBy(OrderPlaced, { correlateBy: (m) => m.orderId })
  async placed(msg: OrderPlaced, ctx: SagaContext<{ accepted: boolean }>): Promise<void> {
    ctx.state.accepted = true;
    await ctx.publish(new OrderAccepted(msg.orderId));
  }
}

@Event('mongo-sweep.Ordered')
class Ordered {
  constructor(
    readonly orderId: string,
    readonly to: string,
  ) {}
}

@Event('mongo-sweep.Shipped')
class Shipped {
  constructor(readonly orderId: string) {}
}

@Saga('MongoSweepShipping')
class Shipping {
  @StartedBy(Ordered, { correlateBy: (m) => m.orderId })
  async ordered(msg: Ordered, ctx: SagaContext<object>): Promise<void> {
    ctx.state = {};
    if (msg.to === 'publish') await ctx.publish(new Shipped(msg.orderId));
    else await ctx.send(new Shipped(msg.orderId), { to: msg.to });
  }
}

/** A RabbitMQ transport whose sends to `flaky` fail `failures` times, and whose publishes take `confirmMs` more. */
function wrapRabbit(
  inner: RabbitMqTransport,
  options: { flaky?: string; failures?: number; confirmMs?: number },
): Transport {
  let left = options.failures ?? 0;
  return {
    declareEndpoint: (t) => inner.declareEndpoint(t),
    publish: async (m) => {
      await inner.publish(m);
      if (options.confirmMs) await new Promise((resolve) => setTimeout(resolve, options.confirmMs));
    },
    send: async (m, e) => {
      if (e === options.flaky && left-- > 0) throw new Error('connection reset');
      return inner.send(m, e);
    },
    consume: (e, h, o) => inner.consume(e, h, o),
    close: () => inner.close(),
  };
}

/** The in-memory transport, except that the first publish of `failType` throws. */
class CrashOncePublishing implements Transport {
  failures = 0;
  constructor(
    readonly inner: InMemoryTransport,
    private readonly failType: string,
  ) {}

  declareEndpoint(topology: EndpointTopology): Promise<void> {
    return this.inner.declareEndpoint(topology);
  }
  async publish(message: WireMessage): Promise<void> {
    if (message.headers[Headers.type] === this.failType && this.failures++ === 0) {
      throw new Error('simulated crash: the broker connection dropped before the confirm');
    }
    return this.inner.publish(message);
  }
  send(message: WireMessage, endpoint: string): Promise<void> {
    return this.inner.send(message, endpoint);
  }
  consume(endpoint: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<Consumer> {
    return this.inner.consume(endpoint, handler, options);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe('outbox sweeper on the MongoDB saga store', () => {
  let raw: MongoClient;
  beforeAll(async () => {
    raw = await rawClient();
  });
  afterAll(async () => {
    await raw?.close();
  });

  it('dispatches an entry left pending by a failed publish after the commit, once', async () => {
    const database = databaseFor('sweep');
    const clock = new VirtualClock(new Date('2026-06-01T08:00:00Z'));
    const inner = new InMemoryTransport(clock);
    const transport = new CrashOncePublishing(inner, 'mongo-sweep.OrderAccepted');
    const sagaStore = new MongoSagaStore(storeOptions(database));
    const endpoint = new Endpoint({
      name: 'orders',
      sagas: [SweepOrder],
      transport,
      sagaStore,
      clock,
      logger: silentLogger,
      // The failed handling is retried only in an hour (virtual): until then only the sweeper can help.
      recoverability: { immediateRetries: 0, delays: ['1h'] },
      timeouts: { pollInterval: Infinity },
      outbox: { sweepInterval: Infinity, lease: '30s' },
    });
    await endpoint.start();
    try {
      const accepted = () =>
        inner.log.filter(
          (r) => r.operation === 'publish' && r.message.headers[Headers.type] === 'mongo-sweep.OrderAccepted',
        );
      await endpoint.bus.publish(new OrderPlaced('o-1'));
      await inner.whenIdle();

      expect(transport.failures).toBe(1);
      expect(accepted()).toHaveLength(0);
      const pending = await sagaStore.findByCorrelation('MongoSweepOrder', 'o-1');
      expect(pending?.state).toEqual({ accepted: true });
      expect(pending?.outbox.map((e) => e.operation)).toEqual(['publish']);
      // Backing off after its failed attempt.
      expect(await endpoint.sweepOutbox()).toBe(0);

      await clock.advance('31s');
      expect(await endpoint.sweepOutbox()).toBe(1);
      expect(accepted()).toHaveLength(1);
      expect(accepted()[0]?.message.messageId).toBe(pending?.outbox[0]?.id);
      const after = await sagaStore.findByCorrelation('MongoSweepOrder', 'o-1');
      expect(after?.outbox).toEqual([]);
      expect(after?.version).toBe(pending?.version);
      const doc = await raw
        .db(database)
        .collection(sagaStore.collectionName)
        .findOne({ correlationKey: 'o-1' });
      expect(doc?.outbox).toEqual({});
      expect(doc).not.toHaveProperty('outboxSince');

      expect(await endpoint.sweepOutbox()).toBe(0);
      expect(accepted()).toHaveLength(1);
    } finally {
      await endpoint.stop();
      await sagaStore.close();
      await raw.db(database).dropDatabase();
    }
  });

  it('RabbitMQ + FerretDB: 100 sends to a missing queue are dead-lettered and replayable; a transient failure is sent', async () => {
    const database = databaseFor('deadletter');
    const bed = new TestBed();
    const sagaStore = new MongoSagaStore(storeOptions(database));
    const rabbit = bed.transport();
    const endpoint = bed.endpoint(rabbit, {
      name: 'shipping',
      sagas: [Shipping],
      sagaStore,
      transport: wrapRabbit(rabbit, { flaky: 'warehouse', failures: 2 }),
      concurrency: 8,
      outbox: { sweepInterval: Infinity, maxAttempts: 3, retryDelay: '50ms', retryMaxDelay: '100ms' },
    });
    try {
      await rabbit.declareEndpoint({ name: 'warehouse', subscriptions: [] });
      await endpoint.start();
      for (let i = 0; i < 100; i++) await endpoint.bus.publish(new Ordered(`stuck-${i}`, 'nowhere'));
      await endpoint.bus.publish(new Ordered('transient', 'warehouse'));
      const committed = async (): Promise<number> =>
        raw
          .db(database)
          .collection(sagaStore.collectionName)
          .countDocuments({ sagaType: 'MongoSweepShipping' });
      expect(await eventually(async () => (await committed()) === 101, 60_000)).toBe(true);

      const letters = () =>
        endpoint.outboxDeadLetters.list({ sagaType: 'MongoSweepShipping' }, { limit: 500 });
      const done = async (): Promise<boolean> => {
        await endpoint.sweepOutbox();
        return (await letters()).length === 100 && (await queueDepth(bed.queue('warehouse'))) === 1;
      };
      expect(await eventually(done, 60_000)).toBe(true);
      const dead = await letters();
      expect(dead[0]?.entry).toMatchObject({ operation: 'send', destination: 'nowhere', attempts: 3 });
      expect(dead[0]?.reason).toMatch(/^3 attempts failed; last: UnroutableError/);
      expect(endpoint.counters.outboxDeadLettered).toBe(100);
      const pending = await raw
        .db(database)
        .collection(sagaStore.collectionName)
        .countDocuments({ outboxSince: { $exists: true } });
      expect(pending).toBe(0);
      expect(await endpoint.oldestPendingOutboxAgeMs()).toBeUndefined();

      await rabbit.declareEndpoint({ name: 'nowhere', subscriptions: [] });
      expect(await endpoint.outboxDeadLetters.replayAll()).toEqual({ replayed: 100, failed: [] });
      expect(await letters()).toEqual([]);
      const ids = await rawChannel(async (channel) => {
        const got: string[] = [];
        for (
          let m = await channel.get(bed.queue('nowhere'));
          m;
          m = await channel.get(bed.queue('nowhere'))
        ) {
          got.push(String(m.properties.messageId));
        }
        return got;
      });
      expect(ids.sort()).toEqual(dead.map((l) => l.entry.id).sort());
    } finally {
      await bed.dispose();
      await sagaStore.close();
      await raw.db(database).dropDatabase();
    }
  }, 240_000);

  it('RabbitMQ + FerretDB: two endpoints over one store, a 400 ms publisher confirm: one send', async () => {
    const database = databaseFor('lease');
    const bed = new TestBed();
    const stores = [new MongoSagaStore(storeOptions(database)), new MongoSagaStore(storeOptions(database))];
    const outcomes: string[] = [];
    const endpoints = ['shipping-a', 'shipping-b'].map((name, i) => {
      const rabbit = bed.transport();
      return bed.endpoint(rabbit, {
        name,
        sagas: [Shipping],
        sagaStore: stores[i],
        transport: wrapRabbit(rabbit, { confirmMs: 400 }),
        onHandled: (h) => outcomes.push(`${name}:${h.sagas[0]?.result}`),
      });
    });
    const [a, b] = endpoints as [Endpoint, Endpoint];
    try {
      await a.start();
      await b.start();
      await a.transport.declareEndpoint({ name: 'audit', subscriptions: ['mongo-sweep.Shipped'] });
      const copy = codec.encode(envelopeFor(new Ordered('o-7', 'publish'), 'ordered-7'));
      await a.transport.send(copy, 'shipping-a');
      // A has committed and is waiting for its confirm: B gets a copy of the same message.
      expect(
        await eventually(
          async () => (await stores[0]!.findByCorrelation('MongoSweepShipping', 'o-7')) !== undefined,
        ),
      ).toBe(true);
      await a.transport.send(copy, 'shipping-b');
      expect(await eventually(() => outcomes.length === 2)).toBe(true);
      expect(outcomes.sort()).toEqual(['shipping-a:committed', 'shipping-b:duplicate']);
      await new Promise((resolve) => setTimeout(resolve, 600)); // both confirms, had there been two
      expect(await eventually(async () => (await queueDepth(bed.queue('audit'))) >= 1)).toBe(true);
      expect(await queueDepth(bed.queue('audit'))).toBe(1);
      expect(
        await eventually(
          async () => (await stores[0]!.findByCorrelation('MongoSweepShipping', 'o-7'))?.outbox.length === 0,
        ),
      ).toBe(true);
    } finally {
      await bed.dispose();
      for (const store of stores) await store.close();
      await raw.db(database).dropDatabase();
    }
  }, 60_000);
});
