import { describe, expect, it } from 'vitest';
import {
  Handles,
  Headers,
  InMemorySagaStore,
  InMemoryTimeoutStore,
  MessageCodec,
  Saga,
  type SagaContext,
  StartedBy,
} from '../../src/index.js';
import { startEndpoint } from '../support/endpoint.js';
import { oldWire, OrderPlaced, Paid, runEvolution, storeOldInstance } from '../support/evolution.js';

describe('evolution (in memory)', () => {
  it('old-shape messages in the queue, the outbox, the timeout store and the error queue, and an instance under a former saga name, are handled by the new code', async () => {
    await runEvolution(
      { sagaStore: new InMemorySagaStore(), timeoutStore: new InMemoryTimeoutStore() },
      (endpoint) => endpoint.stop(),
    );
  });

  it('decodes through the upcaster chain, and writes the version header on encode', () => {
    const codec = new MessageCodec();
    const decoded = codec.decode(oldWire('evo.Placed', { orderId: 'x', total: 3 }));
    expect(decoded.type).toBe('evo.OrderPlaced');
    expect(decoded.body).toEqual(new OrderPlaced('x', { value: 3, currency: 'EUR' }));
    const wire = codec.encode({ ...decoded, id: 'y' });
    expect(wire.headers[Headers.version]).toBe('3');
    expect(() => codec.decode(oldWire('evo.OrderPlaced', {}, { [Headers.version]: 'two' }))).toThrow(
      /not a version/,
    );
  });

  it('a stored state with no upcaster path goes to the error queue, naming the missing upcaster', async () => {
    @Saga('evo.Gappy', { aliases: ['evo.Invoicing'], stateVersion: 3, upcastState: { 2: (s: object) => s } })
    class Gappy {
      @StartedBy(OrderPlaced, { correlateBy: (m) => m.orderId })
      placed(): void {}
      @Handles(Paid, { correlateBy: (m) => m.orderId })
      paid(_m: Paid, ctx: SagaContext<object>): void {
        ctx.state = {};
      }
    }
    const t = await startEndpoint({ sagas: [Gappy], recoverability: { immediateRetries: 0, delays: [] } });
    await storeOldInstance(t.sagaStore, 'g1');
    await t.deliverWire(oldWire('evo.Paid', { orderId: 'g1' }));
    const [error] = t.transport.errors('unit');
    expect(error?.headers[Headers.errorReason]).toBe('state-upcast-missing');
    expect(error?.headers[Headers.errorMessage]).toMatch(/state version 1 and Gappy has no upcastState\[1\]/);
    expect((await t.sagaStore.findByCorrelation('evo.Invoicing', 'g1'))?.version).toBe(1);
    await t.endpoint.stop();
  });
});
