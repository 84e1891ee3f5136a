import { InMemorySagaStore, InMemoryTransport } from '../../src/index.js';
import { describeRunCache } from './run-cache-scenarios.js';

describeRunCache(
  'in memory',
  async () => ({
    store: new InMemorySagaStore(),
    transport: () => new InMemoryTransport(),
    dispose: async () => {},
  }),
  5_000,
);
