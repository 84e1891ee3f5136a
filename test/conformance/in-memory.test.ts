import {
  InMemoryPartitionLeases,
  InMemorySagaStore,
  InMemoryTimeoutStore,
  InMemoryTransport,
  VirtualClock,
} from '../../src/index.js';
import { describeAppendOnlyConformance } from './append-only.js';
import { describePartitionLeasesConformance } from './partition-leases.js';
import { describeSagaStoreConformance } from './saga-store.js';
import { describeTimeoutStoreConformance } from './timeout-store.js';
import { describeTransportConformance } from './transport.js';

describeTransportConformance('in-memory', async () => {
  const transport = new InMemoryTransport();
  return {
    transport,
    errors: async (endpoint) => [...transport.errors(endpoint)],
    dispose: () => transport.close(),
  };
});

describeSagaStoreConformance('in-memory', async () => {
  const store = new InMemorySagaStore();
  return { store, dispose: () => store.close() };
});

describeAppendOnlyConformance('in-memory', async () => {
  const store = new InMemorySagaStore();
  return { store, dispose: () => store.close() };
});

describeTimeoutStoreConformance('in-memory', async () => {
  const clock = new VirtualClock();
  const store = new InMemoryTimeoutStore({ clock });
  return {
    store,
    now: () => clock.now().getTime(),
    advance: (ms) => clock.advance(ms),
    dispose: () => store.close(),
  };
});

describePartitionLeasesConformance('in-memory', async () => {
  const clock = new VirtualClock();
  const leases = new InMemoryPartitionLeases(clock);
  return { leases, advance: async (ms) => clock.advance(ms), dispose: () => leases.close() };
});
