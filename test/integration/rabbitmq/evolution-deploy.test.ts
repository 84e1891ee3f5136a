/**
 * A deploy on RabbitMQ + FerretDB: the old code left an old-shape event waiting in the endpoint's
 * queue (under the event's former name) and an instance stored under the saga's former name with
 * a version-1 state; the new code, started on the same queue and store, handles both. A publisher
 * not yet redeployed keeps publishing under the former name and still reaches the endpoint.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Endpoint, silentLogger } from '../../../src/index.js';
import { MongoSagaStore } from '../../../src/persistence/mongodb/index.js';
import { MongoTimeoutStore } from '../../../src/timeouts/mongodb/index.js';
import { Billing, oldWire, storeOldInstance } from '../../support/evolution.js';
import { databaseFor, rawClient, storeOptions } from '../mongodb/support.js';
import { eventually, queueDepth, TestBed } from './support.js';

describe('evolution across a deploy (RabbitMQ + FerretDB)', () => {
  const bed = new TestBed();
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await bed.dispose();
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('an old-shape message waiting in the queue and an old-version instance are handled by the new code', async () => {
    const database = databaseFor('evodeploy');
    const sagaStore = new MongoSagaStore(storeOptions(database));
    const timeoutStore = new MongoTimeoutStore(storeOptions(database));
    const raw = await rawClient();
    cleanup.push(async () => {
      await sagaStore.close();
      await timeoutStore.close();
      await raw.db(database).dropDatabase();
      await raw.close();
    });
    await sagaStore.init();
    await timeoutStore.init();

    // The old deploy: its queue bound to the event's former name, a v1 event published and left
    // waiting (no consumer), and an instance under the saga's former name with a v1 state.
    const old = bed.transport();
    await old.declareEndpoint({ name: 'billing', subscriptions: ['evo.Placed'] });
    await old.publish(oldWire('evo.Placed', { orderId: 'd1', total: 12 }));
    await storeOldInstance(sagaStore, 'd3');
    expect(await queueDepth(bed.queue('billing'))).toBe(1);

    // The new deploy, on the same queue and store.
    const endpoint = new Endpoint({
      name: 'billing',
      sagas: [Billing],
      transport: bed.transport(),
      sagaStore,
      timeoutStore,
      logger: silentLogger,
      timeouts: { pollInterval: Infinity },
      outbox: { sweepInterval: Infinity },
      recoverability: { immediateRetries: 0, delays: [] },
    });
    cleanup.push(() => endpoint.stop());
    await endpoint.start();
    await eventually(
      async () => (await sagaStore.findByCorrelation('evo.Billing', 'd1')) !== undefined,
      'd1 started',
    );
    expect(await sagaStore.findByCorrelation('evo.Billing', 'd1')).toMatchObject({
      stateVersion: 2,
      state: { orderId: 'd1', due: { value: 12, currency: 'EUR' }, paid: false },
    });

    // A publisher still on the old code: the event's former routing key is bound by the new endpoint.
    await old.publish(oldWire('evo.PaymentReceived', { orderId: 'd3' }));
    await eventually(
      async () => (await sagaStore.findByCorrelation('evo.Invoicing', 'd3'))?.version === 2,
      'd3 paid',
    );
    expect(await sagaStore.findByCorrelation('evo.Invoicing', 'd3')).toMatchObject({
      sagaType: 'evo.Invoicing',
      stateVersion: 2,
      state: { orderId: 'd3', due: { value: 7, currency: 'EUR' }, paid: true, reminders: 0 },
    });
    expect(await sagaStore.findByCorrelation('evo.Billing', 'd3')).toBeUndefined();
    expect(await queueDepth(`${bed.queue('billing')}.error`)).toBe(0);
  });
});
