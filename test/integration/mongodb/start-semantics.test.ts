/** The start-semantics scenario of test/unit/start-semantics.test.ts on the MongoDB stores (FerretDB). */
import { describe, it } from 'vitest';
import { MongoSagaStore } from '../../../src/persistence/mongodb/index.js';
import { MongoTimeoutStore } from '../../../src/timeouts/mongodb/index.js';
import { runStartSemantics } from '../../support/start-semantics.js';
import { databaseFor, storeOptions, suiteFixture } from './support.js';

describe('start semantics (MongoDB stores)', () => {
  const fixture = suiteFixture();

  it('onExisting / onCompleted: defaults ignore and log, error queues with a reason, handle and restart rerun', async () => {
    const databases: string[] = [];
    fixture.cleanup.push(async () => {
      for (const database of databases) await fixture.raw.db(database).dropDatabase();
    });
    await runStartSemantics(
      async () => {
        const database = databaseFor('start');
        databases.push(database);
        return {
          sagaStore: new MongoSagaStore(storeOptions(database)),
          timeoutStore: new MongoTimeoutStore(storeOptions(database)),
        };
      },
      async (rig) => rig.endpoint.close(),
    );
  });
});
