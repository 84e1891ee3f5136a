/** The operations client on the in-memory saga and timeout stores. */
import { InMemorySagaStore, InMemoryTimeoutStore } from '../../src/index.js';
import { operationsSuite } from './client-suite.js';

operationsSuite('in memory', async () => ({
  store: new InMemorySagaStore(),
  timeouts: new InMemoryTimeoutStore(),
  dispose: async () => undefined,
}));
