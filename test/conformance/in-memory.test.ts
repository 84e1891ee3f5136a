import { describe, expect, it } from 'vitest';
import {
  InMemoryPartitionLeases,
  InMemorySagaStore,
  InMemoryTimeoutStore,
  InMemoryTransport,
  type SagaRecord,
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

describe('in-memory saga store', () => {
  it('a commit whose record cannot be stored leaves nothing behind, not even its correlation value', async () => {
    const store = new InMemorySagaStore();
    const at = new Date();
    const record = (state: unknown): SagaRecord => ({
      sagaType: 'T',
      id: 'id-1',
      correlationKey: 'k-1',
      version: 1,
      status: 'active',
      state,
      outbox: [],
      inbox: [],
      timeouts: [],
      createdAt: at,
      updatedAt: at,
    });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(store.commit({ expectedVersion: 0, newOutbox: [], record: record(cyclic) })).rejects.toThrow(
      /cyclic/,
    );
    expect(await store.findByCorrelation('T', 'k-1')).toBeUndefined();
    await store.commit({ expectedVersion: 0, newOutbox: [], record: record({ n: 1 }) });
    expect((await store.findByCorrelation('T', 'k-1'))?.state).toEqual({ n: 1 });
  });
});
