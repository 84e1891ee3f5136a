/**
 * The outbox sweeper on the MongoDB saga store: an entry left pending because publishing failed
 * after the commit (the process "crashed" before dispatching; its retry is an hour away) is
 * dispatched by `endpoint.sweepOutbox()` once its lease has passed, exactly once.
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
import { databaseFor, rawClient, storeOptions } from './support.js';

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
      // Younger than the lease: its committer may still be dispatching it.
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
});
