/**
 * The saga store conformance suite: every SagaStore adapter runs it unchanged (see
 * `src/persistence/saga-store.ts` for the contract it checks).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConcurrencyError, type OutboxEntry, type SagaRecord, type SagaStore } from '../../src/index.js';

/** What an adapter provides to the suite. */
export interface SagaStoreHarness {
  readonly store: SagaStore;
  /** Deletes what the test wrote and closes the store. */
  dispose(): Promise<void>;
}

type Writable = Omit<SagaRecord, 'outbox'>;

export function describeSagaStoreConformance(name: string, create: () => Promise<SagaStoreHarness>): void {
  describe(`SagaStore conformance: ${name}`, () => {
    let harness: SagaStoreHarness;
    let store: SagaStore;
    let sagaType: string;
    const t0 = new Date('2026-03-01T10:00:00.000Z');

    const record = (key: string, version: number, state: unknown = { n: version }): Writable => ({
      sagaType,
      id: `id-${key}`,
      correlationKey: key,
      version,
      status: 'active',
      state,
      inbox: [],
      timeouts: [],
      createdAt: t0,
      updatedAt: t0,
    });
    const entry = (id: string, createdAt = t0): OutboxEntry => ({
      id,
      operation: 'publish',
      message: { messageId: id, headers: { 'longhaul.type': 'x.Y' }, body: '{"a":1}' },
      sourceMessageId: 'm-1',
      createdAt,
    });

    beforeEach(async () => {
      harness = await create();
      store = harness.store;
      await store.init();
      sagaType = `Conformance-${randomUUID().slice(0, 8)}`;
    });

    afterEach(async () => {
      await harness.dispose();
    });

    it('inserts an instance and finds it by correlation key and by id, with the fields it was given', async () => {
      const state = {
        when: new Date('2026-01-02T03:04:05.678Z'),
        nested: { list: [1, 'two', null] },
        n: 1.5,
      };
      await store.commit({
        expectedVersion: 0,
        newOutbox: [entry('e-1')],
        record: {
          ...record('k1', 1, state),
          inbox: ['m-1'],
          timeouts: [{ id: 't-1', type: 'x.T', dueAt: t0 }],
        },
      });
      const byKey = await store.findByCorrelation(sagaType, 'k1');
      const byId = await store.findById(sagaType, 'id-k1');
      expect(byKey).toEqual(byId);
      expect(byKey?.version).toBe(1);
      expect(byKey?.state).toEqual(state);
      expect((byKey?.state as typeof state).when).toBeInstanceOf(Date);
      expect(byKey?.inbox).toEqual(['m-1']);
      expect(byKey?.timeouts).toEqual([{ id: 't-1', type: 'x.T', dueAt: t0 }]);
      expect(byKey?.outbox.map((e) => e.id)).toEqual(['e-1']);
      expect(byKey?.outbox[0]?.createdAt).toEqual(t0);
      expect(byKey?.createdAt).toEqual(t0);
      expect(await store.findByCorrelation(sagaType, 'other')).toBeUndefined();
      expect(await store.findById(`${sagaType}-other`, 'id-k1')).toBeUndefined();
    });

    it('returns copies: changing a loaded record changes nothing stored', async () => {
      await store.commit({ expectedVersion: 0, newOutbox: [], record: record('k1', 1, { n: 1 }) });
      const loaded = (await store.findByCorrelation(sagaType, 'k1')) as { state: { n: number } };
      loaded.state.n = 99;
      expect((await store.findByCorrelation(sagaType, 'k1'))?.state).toEqual({ n: 1 });
    });

    it('rejects a second instance with the same correlation key', async () => {
      await store.commit({ expectedVersion: 0, newOutbox: [], record: record('k1', 1) });
      await expect(
        store.commit({ expectedVersion: 0, newOutbox: [], record: { ...record('k1', 1), id: 'another-id' } }),
      ).rejects.toBeInstanceOf(ConcurrencyError);
      await expect(
        store.commit({ expectedVersion: 0, newOutbox: [], record: record('k1', 1) }),
      ).rejects.toBeInstanceOf(ConcurrencyError);
    });

    it('commits only on the expected version, and writes nothing otherwise', async () => {
      await store.commit({ expectedVersion: 0, newOutbox: [], record: record('k1', 1) });
      await store.commit({ expectedVersion: 1, newOutbox: [entry('e-2')], record: record('k1', 2) });
      await expect(
        store.commit({
          expectedVersion: 1,
          newOutbox: [entry('e-3')],
          record: record('k1', 2, { n: 'stale' }),
        }),
      ).rejects.toBeInstanceOf(ConcurrencyError);
      const stored = await store.findByCorrelation(sagaType, 'k1');
      expect(stored?.version).toBe(2);
      expect(stored?.state).toEqual({ n: 2 });
      expect(stored?.outbox.map((e) => e.id)).toEqual(['e-2']);
    });

    it('lets exactly one of many concurrent commits on one version win', async () => {
      await store.commit({ expectedVersion: 0, newOutbox: [], record: record('k1', 1) });
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          store.commit({
            expectedVersion: 1,
            newOutbox: [entry(`e-${i}`)],
            record: record('k1', 2, { winner: i }),
          }),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConcurrencyError);
      const stored = await store.findByCorrelation(sagaType, 'k1');
      const winner = (stored?.state as { winner: number }).winner;
      expect(results[winner]?.status).toBe('fulfilled');
      expect(stored?.outbox.map((e) => e.id)).toEqual([`e-${winner}`]);
    });

    it('appends outbox entries in order; markDispatched removes them without a version change', async () => {
      await store.commit({
        expectedVersion: 0,
        newOutbox: [entry('e-1'), entry('e-2')],
        record: record('k1', 1),
      });
      await store.commit({ expectedVersion: 1, newOutbox: [entry('e-3')], record: record('k1', 2) });
      expect((await store.findById(sagaType, 'id-k1'))?.outbox.map((e) => e.id)).toEqual([
        'e-1',
        'e-2',
        'e-3',
      ]);
      await store.markDispatched(sagaType, 'id-k1', ['e-1', 'e-3']);
      await store.markDispatched(sagaType, 'id-k1', ['e-1']);
      const after = await store.findById(sagaType, 'id-k1');
      expect(after?.outbox.map((e) => e.id)).toEqual(['e-2']);
      expect(after?.version).toBe(2);
      // A commit based on a load made before the marking does not bring the entries back.
      await store.commit({ expectedVersion: 2, newOutbox: [entry('e-4')], record: record('k1', 3) });
      expect((await store.findById(sagaType, 'id-k1'))?.outbox.map((e) => e.id)).toEqual(['e-2', 'e-4']);
      await store.markDispatched(sagaType, 'no-such-id', ['e-2']);
    });

    it('finds instances with outbox entries older than a cutoff, up to a limit', async () => {
      const old = new Date(t0.getTime() - 60_000);
      await store.commit({ expectedVersion: 0, newOutbox: [entry('e-old', old)], record: record('k1', 1) });
      await store.commit({ expectedVersion: 0, newOutbox: [entry('e-new', t0)], record: record('k2', 1) });
      await store.commit({ expectedVersion: 0, newOutbox: [], record: record('k3', 1) });
      await store.commit({ expectedVersion: 0, newOutbox: [entry('e-old2', old)], record: record('k4', 1) });
      const cutoff = new Date(t0.getTime() - 1_000);
      const found = (await store.findPendingOutbox(cutoff, 10)).filter((r) => r.sagaType === sagaType);
      expect(found.map((r) => r.correlationKey).sort()).toEqual(['k1', 'k4']);
      expect(found.find((r) => r.correlationKey === 'k1')?.outbox.map((e) => e.id)).toEqual(['e-old']);
      expect((await store.findPendingOutbox(cutoff, 1)).length).toBe(1);
      await store.markDispatched(sagaType, 'id-k1', ['e-old']);
      await store.markDispatched(sagaType, 'id-k4', ['e-old2']);
      expect((await store.findPendingOutbox(cutoff, 10)).filter((r) => r.sagaType === sagaType)).toEqual([]);
    });

    it('deletes only tombstones past retention with an empty outbox', async () => {
      const tombstone = (key: string, retainUntil: Date): Writable => ({
        ...record(key, 1, null),
        status: 'completed',
        state: null,
        retainUntil,
      });
      const past = new Date(t0.getTime() - 1);
      const future = new Date(t0.getTime() + 60_000);
      await store.commit({ expectedVersion: 0, newOutbox: [], record: tombstone('expired', past) });
      await store.commit({ expectedVersion: 0, newOutbox: [], record: tombstone('retained', future) });
      await store.commit({
        expectedVersion: 0,
        newOutbox: [entry('e-1')],
        record: tombstone('pending', past),
      });
      await store.commit({ expectedVersion: 0, newOutbox: [], record: record('active', 1) });
      expect(await store.deleteExpiredTombstones(t0)).toBeGreaterThanOrEqual(1);
      expect(await store.findByCorrelation(sagaType, 'expired')).toBeUndefined();
      expect((await store.findByCorrelation(sagaType, 'retained'))?.status).toBe('completed');
      expect((await store.findByCorrelation(sagaType, 'pending'))?.outbox).toHaveLength(1);
      expect((await store.findByCorrelation(sagaType, 'active'))?.status).toBe('active');
      // Once deleted, the correlation key is free again.
      await store.commit({
        expectedVersion: 0,
        newOutbox: [],
        record: { ...record('expired', 1), id: 'id-new' },
      });
      expect((await store.findByCorrelation(sagaType, 'expired'))?.id).toBe('id-new');
    });

    it('lists instances by labels and creation time, in id order, page by page; deletes one', async () => {
      const at = (minutes: number): Date => new Date(t0.getTime() + minutes * 60_000);
      const labelled = (key: string, minutes: number, labels: Record<string, string>): Writable => ({
        ...record(key, 1),
        id: `id-${key}`,
        createdAt: at(minutes),
        updatedAt: at(minutes),
        labels,
      });
      await store.commit({
        expectedVersion: 0,
        newOutbox: [],
        record: labelled('a', 1, { kind: 'x', status: 'done' }),
      });
      await store.commit({
        expectedVersion: 0,
        newOutbox: [],
        record: labelled('b', 2, { kind: 'x', status: 'open' }),
      });
      await store.commit({
        expectedVersion: 0,
        newOutbox: [],
        record: labelled('c', 3, { kind: 'y', status: 'done' }),
      });
      await store.commit({
        expectedVersion: 0,
        newOutbox: [],
        record: labelled('d', 4, { kind: 'x', status: 'done' }),
      });
      const ids = (records: SagaRecord[]): string[] => records.map((r) => r.id);
      expect(ids(await store.list(sagaType, {}, { limit: 10 }))).toEqual(['id-a', 'id-b', 'id-c', 'id-d']);
      expect(
        ids(await store.list(sagaType, { labels: { kind: 'x', status: 'done' } }, { limit: 10 })),
      ).toEqual(['id-a', 'id-d']);
      expect(
        ids(await store.list(sagaType, { createdAfter: at(1), createdBefore: at(4) }, { limit: 10 })),
      ).toEqual(['id-b', 'id-c']);
      expect(ids(await store.list(sagaType, { updatedBefore: at(2) }, { limit: 10 }))).toEqual(['id-a']);
      const first = await store.list(sagaType, { labels: { kind: 'x' } }, { limit: 2 });
      expect(ids(first)).toEqual(['id-a', 'id-b']);
      expect(
        ids(await store.list(sagaType, { labels: { kind: 'x' } }, { limit: 2, after: first[1]!.id })),
      ).toEqual(['id-d']);
      expect(first[0]?.labels).toEqual({ kind: 'x', status: 'done' });
      expect(await store.delete(sagaType, 'id-b')).toBe(true);
      expect(await store.delete(sagaType, 'id-b')).toBe(false);
      expect(await store.findByCorrelation(sagaType, 'b')).toBeUndefined();
      expect(ids(await store.list(sagaType, {}, { limit: 10 }))).toEqual(['id-a', 'id-c', 'id-d']);
      // The key is free again after a delete.
      await store.commit({ expectedVersion: 0, newOutbox: [], record: labelled('b', 5, {}) });
    });

    it('keeps saga types apart: the same key in two types is two instances', async () => {
      await store.commit({ expectedVersion: 0, newOutbox: [], record: record('k1', 1, { t: 'a' }) });
      const otherType = `${sagaType}-b`;
      await store.commit({
        expectedVersion: 0,
        newOutbox: [],
        record: { ...record('k1', 1, { t: 'b' }), sagaType: otherType },
      });
      expect((await store.findByCorrelation(sagaType, 'k1'))?.state).toEqual({ t: 'a' });
      expect((await store.findByCorrelation(otherType, 'k1'))?.state).toEqual({ t: 'b' });
    });
  });
}
