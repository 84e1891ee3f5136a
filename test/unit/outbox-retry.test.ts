/**
 * The outbox that never starves, and its dispatch lease (in memory; the same scenarios run on
 * RabbitMQ + FerretDB in test/integration/mongodb/outbox-sweeper.test.ts):
 * - entries that cannot be sent back off and are dead-lettered after their last attempt, without
 *   holding up an entry whose failure was transient; the dead letters replay with the same ids;
 * - a duplicate delivery never sends an entry whose committer still holds its claim, however long
 *   the publisher confirm takes (no sleep, no process memory: the claim is in the store).
 */
import { describe, expect, it } from 'vitest';
import {
  Command,
  Endpoint,
  Event,
  type InMemoryTransport,
  Saga,
  type SagaContext,
  silentLogger,
  StartedBy,
  type Transport,
} from '../../src/index.js';
import { codec, emitted, envelopeFor, startEndpoint } from '../support/endpoint.js';

@Event('or.Ordered')
class Ordered {
  constructor(
    readonly orderId: string,
    readonly to: string,
  ) {}
}
@Command('or.Ship')
class Ship {
  constructor(readonly orderId: string) {}
}
@Event('or.Accepted')
class Accepted {
  constructor(readonly orderId: string) {}
}

@Saga('or.Order')
class OrderSaga {
  @StartedBy(Ordered, { correlateBy: (m) => m.orderId })
  async ordered(msg: Ordered, ctx: SagaContext<object>): Promise<void> {
    ctx.state = {};
    if (msg.to === 'publish') await ctx.publish(new Accepted(msg.orderId));
    else await ctx.send(new Ship(msg.orderId), { to: msg.to });
  }
}

/** Fails the first `n` sends to `destination`, as a broker that is briefly unavailable. */
function flaky(inner: InMemoryTransport, destination: string, n: number): Transport {
  let left = n;
  return {
    declareEndpoint: (t) => inner.declareEndpoint(t),
    publish: (m) => inner.publish(m),
    send: async (m, e) => {
      if (e === destination && left-- > 0) throw new Error('connection reset');
      return inner.send(m, e);
    },
    consume: (e, h, o) => inner.consume(e, h, o),
    close: () => inner.close(),
  };
}

describe('the outbox retries, dead-letters and leases', () => {
  it('100 unsendable entries and one transient failure: the transient one is sent, the 100 are dead-lettered and replayable', async () => {
    const t = await startEndpoint({
      sagas: [OrderSaga],
      outbox: { sweepInterval: Infinity, maxAttempts: 3, retryDelay: '1s', retryMaxDelay: '2s' },
      wrap: (inner) => flaky(inner, 'warehouse', 2),
    });
    await t.transport.declareEndpoint({ name: 'warehouse', subscriptions: [] });
    for (let i = 0; i < 100; i++) await t.deliver(new Ordered(`stuck-${i}`, 'nowhere'));
    await t.deliver(new Ordered('transient', 'warehouse'));
    expect(emitted(t.transport, 'or.Ship')).toHaveLength(0);
    expect(t.transport.errors('unit')).toHaveLength(0); // committed and acknowledged: the outbox owns them

    // Every second, a sweep: the transient entry goes out on its third attempt, whatever the 100 do.
    const sweeps: number[] = [];
    for (let i = 0; i < 4; i++) {
      await t.clock.advance('2s');
      sweeps.push(await t.endpoint.sweepOutbox());
    }
    await t.idle();
    expect(emitted(t.transport, 'or.Ship').map((m) => m.destination)).toEqual([['warehouse']]);
    expect(sweeps).toEqual([0, 1, 0, 0]);

    const letters = await t.endpoint.outboxDeadLetters.list({ sagaType: 'or.Order' }, { limit: 500 });
    expect(letters).toHaveLength(100);
    expect(letters[0]?.entry).toMatchObject({ operation: 'send', destination: 'nowhere', attempts: 3 });
    expect(letters[0]?.reason).toMatch(
      /^3 attempts failed; last: UnroutableError: No endpoint queue 'nowhere'/,
    );
    expect(t.endpoint.counters.outboxDeadLettered).toBe(100);
    for (let i = 0; i < 100; i++) {
      expect((await t.sagaStore.findByCorrelation('or.Order', `stuck-${i}`))?.outbox).toEqual([]);
    }
    expect(await t.endpoint.oldestPendingOutboxAgeMs()).toBeUndefined();

    // The destination appears: replay sends each with the id it was committed with, once.
    await t.transport.declareEndpoint({ name: 'nowhere', subscriptions: [] });
    const one = letters[0]!.entry.id;
    await t.endpoint.outboxDeadLetters.replay(one);
    await expect(t.endpoint.outboxDeadLetters.replay(one)).rejects.toMatchObject({
      code: 'dead-letter-not-found',
    });
    expect(await t.endpoint.outboxDeadLetters.replayAll({ sagaType: 'or.Order' })).toEqual({
      replayed: 99,
      failed: [],
    });
    const shipped = emitted(t.transport, 'or.Ship').filter((m) => m.destination[0] === 'nowhere');
    expect(shipped.map((m) => m.id).sort()).toEqual(letters.map((l) => l.entry.id).sort());
    expect(await t.endpoint.outboxDeadLetters.list()).toEqual([]);
  });

  it('reports the age of the oldest pending entry', async () => {
    const t = await startEndpoint({ sagas: [OrderSaga], outbox: { sweepInterval: Infinity } });
    expect(await t.endpoint.oldestPendingOutboxAgeMs()).toBeUndefined();
    await t.deliver(new Ordered('o-1', 'nowhere'));
    await t.clock.advance('90s');
    expect(await t.endpoint.oldestPendingOutboxAgeMs()).toBe(90_000);
  });

  it('two endpoints over one store, a 400 ms publisher confirm: a duplicate on the other never sends again', async () => {
    const slowConfirm = (inner: InMemoryTransport): Transport => ({
      declareEndpoint: (t) => inner.declareEndpoint(t),
      publish: async (m) => {
        await new Promise((resolve) => setTimeout(resolve, 400));
        return inner.publish(m);
      },
      send: (m, e) => inner.send(m, e),
      consume: (e, h, o) => inner.consume(e, h, o),
      close: () => inner.close(),
    });
    const a = await startEndpoint({ sagas: [OrderSaga], wrap: slowConfirm });
    const b = new Endpoint({
      name: 'unit-b',
      sagas: [OrderSaga],
      transport: slowConfirm(a.transport),
      sagaStore: a.sagaStore,
      timeoutStore: a.timeoutStore,
      clock: a.clock,
      logger: silentLogger,
      timeouts: { pollInterval: Infinity },
      outbox: { sweepInterval: Infinity },
    });
    await b.start();
    const copy = codec.encode(envelopeFor(new Ordered('o-7', 'publish'), 'ordered-7'));
    const first = a.transport.send(copy, 'unit');
    await first;
    // Wait until A has committed (it is now waiting for its confirm), then give B a copy.
    for (let i = 0; i < 200 && !(await a.sagaStore.findByCorrelation('or.Order', 'o-7')); i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await a.transport.send(copy, 'unit-b');
    await a.idle();
    await new Promise((resolve) => setTimeout(resolve, 500)); // both confirms, had there been two
    await a.idle();
    expect(emitted(a.transport, 'or.Accepted')).toHaveLength(1);
    expect((await a.sagaStore.findByCorrelation('or.Order', 'o-7'))?.outbox).toEqual([]);
    await b.stop();
  });

  it('an entry sent after its lease ended is logged with its id and counted: another process may have sent it too', async () => {
    const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
    const clock: { current?: { advance(d: string): Promise<void> } } = {};
    const slowerThanTheLease = (inner: InMemoryTransport): Transport => ({
      declareEndpoint: (t) => inner.declareEndpoint(t),
      publish: async (m) => {
        await clock.current?.advance('31s'); // the default lease is 30 s
        return inner.publish(m);
      },
      send: (m, e) => inner.send(m, e),
      consume: (e, h, o) => inner.consume(e, h, o),
      close: () => inner.close(),
    });
    const t = await startEndpoint({
      sagas: [OrderSaga],
      wrap: slowerThanTheLease,
      logger: { ...silentLogger, warn: (message, fields) => warnings.push({ message, fields }) },
    });
    clock.current = t.clock;
    await t.deliver(new Ordered('o-9', 'publish'));
    expect(emitted(t.transport, 'or.Accepted')).toHaveLength(1);
    expect(t.endpoint.counters.outboxLeaseOverruns).toBe(1);
    const overrun = warnings.find((w) => w.message.startsWith('outbox lease overran'));
    expect(overrun?.fields?.entryIds).toEqual([emitted(t.transport, 'or.Accepted')[0]!.id]);
    expect(overrun?.fields?.overranMs).toBeGreaterThanOrEqual(1000);
  });
});
