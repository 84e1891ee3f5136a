/**
 * The saga store and timeout store conformance suites against the MongoDB-compatible test store
 * (FerretDB behind its write gate, MONGODB_URL). Each test gets its own database, dropped afterwards.
 */
import { afterAll, beforeAll } from 'vitest';
import { type MongoClient } from 'mongodb';
import { MongoPartitionLeases, MongoSagaStore } from '../../src/persistence/mongodb/index.js';
import { MongoTimeoutStore } from '../../src/timeouts/mongodb/index.js';
import { silentLogger } from '../../src/index.js';
import { databaseFor, rawClient } from '../integration/mongodb/support.js';
import { describeAppendOnlyConformance } from './append-only.js';
import { describeSagaStoreConformance } from './saga-store.js';
import { describeTimeoutStoreConformance } from './timeout-store.js';
import { describePartitionLeasesConformance } from './partition-leases.js';

let client: MongoClient;
beforeAll(async () => {
  client = await rawClient();
});
afterAll(async () => {
  await client?.close();
});

const mongoSagaStore = (name: string) => async () => {
  const database = databaseFor(name);
  const store = new MongoSagaStore({ client, database, logger: silentLogger });
  return {
    store,
    dispose: async () => {
      await store.close();
      await client.db(database).dropDatabase();
    },
  };
};

describeSagaStoreConformance('mongodb', mongoSagaStore('conf_saga'));

describeAppendOnlyConformance('mongodb', mongoSagaStore('conf_append'));

describeTimeoutStoreConformance('mongodb', async () => {
  const database = databaseFor('conf_timeout');
  const store = new MongoTimeoutStore({ client, database, logger: silentLogger });
  return {
    store,
    // The server runs on this machine: its clock is this one (to the store's rounding).
    now: () => Date.now(),
    advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    dispose: async () => {
      await store.close();
      await client.db(database).dropDatabase();
    },
  };
});

describePartitionLeasesConformance('mongodb', async () => {
  const database = databaseFor('conf_partitions');
  const store = new MongoSagaStore({ client, database, logger: silentLogger });
  const leases = MongoPartitionLeases.forStore(store);
  return {
    leases,
    advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    dispose: async () => {
      await leases.close();
      await store.close();
      await client.db(database).dropDatabase();
    },
  };
});
