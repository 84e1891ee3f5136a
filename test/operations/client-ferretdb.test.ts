/** The operations client on FerretDB (saga and timeout stores through the write gate). */
import { MongoSagaStore, MongoTimeoutStore } from '../../src/index.js';
import { databaseFor, rawClient, storeOptions } from '../integration/mongodb/support.js';
import { operationsSuite } from './client-suite.js';

operationsSuite('FerretDB', async () => {
  const database = databaseFor('ops');
  const store = new MongoSagaStore(storeOptions(database));
  const timeouts = new MongoTimeoutStore(storeOptions(database));
  return {
    store,
    timeouts,
    async dispose() {
      await store.close();
      await timeouts.close();
      const raw = await rawClient();
      await raw.db(database).dropDatabase();
      await raw.close();
    },
  };
});
