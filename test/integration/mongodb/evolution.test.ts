/** The evolution scenario of test/unit/evolution.test.ts on the MongoDB stores (FerretDB). */
import { describe, expect, it } from 'vitest';
import { MongoSagaStore } from '../../../src/persistence/mongodb/index.js';
import { MongoTimeoutStore } from '../../../src/timeouts/mongodb/index.js';
import { runEvolution } from '../../support/evolution.js';
import { databaseFor, storeOptions, suiteFixture } from './support.js';

describe('evolution (MongoDB stores)', () => {
  const fixture = suiteFixture();

  it('old-shape messages in the queue, the outbox, the timeout store and the error queue, and an instance under a former saga name, are handled by the new code', async () => {
    const database = databaseFor('evolution');
    const sagaStore = new MongoSagaStore(storeOptions(database));
    const timeoutStore = new MongoTimeoutStore(storeOptions(database));
    fixture.cleanup.push(async () => {
      await sagaStore.close();
      await timeoutStore.close();
      await fixture.raw.db(database).dropDatabase();
    });
    await sagaStore.init();
    await timeoutStore.init();
    await runEvolution({ sagaStore, timeoutStore }, (endpoint) => endpoint.stop());
    // The state version is a field of the document, readable in a Mongo shell.
    const doc = await fixture.raw
      .db(database)
      .collection(sagaStore.collectionName)
      .findOne({ sagaType: 'evo.Invoicing', correlationKey: 'o3' });
    expect(doc).toMatchObject({ stateVersion: 2, state: { orderId: 'o3', paid: true } });
  });
});
