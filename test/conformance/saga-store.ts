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

/**
 * Runs a change to a loaded record: a store that returns copies lets it happen (to the copy), a
 * store that returns frozen records refuses it with a TypeError. Anything else fails the test.
 */
function changeOrRefuse(change: () => unknown): void {
  try {
    change();
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
  }
}

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
          inbox: [{ id: 'm-1', at: t0 }],
          timeouts: [{ id: 't-1', type: 'x.T', dueAt: t0 }],
        },
      });
      const byKey = await store.findByCorrelation(sagaType, 'k1');
      const byId = await store.findById(sagaType, 'id-k1');
      expect(byKey).toEqual(byId);
      expect(byKey?.version).toBe(1);
      expect(byKey?.state).toEqual(state);
      expect((byKey?.state as typeof state).when).toBeInstanceOf(Date);
      expect(byKey?.inbox).toEqual([{ id: 'm-1', at: t0 }]);
      expect(byKey?.timeouts).toEqual([{ id: 't-1', type: 'x.T', dueAt: t0 }]);
      expect(byKey?.outbox.map((e) => e.id)).toEqual(['e-1']);
      expect(byKey?.outbox[0]?.createdAt).toEqual(t0);
      expect(byKey?.createdAt).toEqual(t0);
      expect(await store.findByCorrelation(sagaType, 'other')).toBeUndefined();
      expect(await store.findById(`${sagaType}-other`, 'id-k1')).toBeUndefined();
    });

    it('stores a commit with append as the whole record: new items appended, other fields set or removed', async () => {
      const at = new Date('2026-03-01T10:00:01.000Z');
      const first = { status: 'running', parked: { why: 'x' }, history: [{ e: 'started', at }] };
      await store.commit({ expectedVersion: 0, newOutbox: [], record: record('k1', 1, first) });
      const loaded = (await store.findById(sagaType, 'id-k1'))!.state as typeof first;
      const items = [...loaded.history, { e: 'scheduled', seq: 0, at, 'a.b': [[1]] }, { e: 'done', v: null }];
      const second = { status: 'done', result: { n: 2 }, history: items };
      await store.commit({
        expectedVersion: 1,
        newOutbox: [entry('e-1')],
        record: record('k1', 2, second),
        append: { field: 'history', from: 1, removed: ['parked'] },
      });
      const third = { ...second, history: [...items, { e: 'last', at }] };
      await store.commit({
        expectedVersion: 2,
        newOutbox: [],
        record: record('k1', 3, third),
        append: { field: 'history', from: 3, removed: [] },
      });
      const stored = await store.findById(sagaType, 'id-k1');
      expect(stored).toMatchObject({ version: 3, state: third });
      expect(Object.keys(stored!.state as object).sort()).toEqual(['history', 'result', 'status']);
      // A stale append writes nothing, like any commit on another version.
      await expect(
        store.commit({
          expectedVersion: 2,
          newOutbox: [],
          record: record('k1', 3, { ...third, history: [...third.history, { e: 'stale' }] }),
          append: { field: 'history', from: 4, removed: [] },
        }),
      ).rejects.toBeInstanceOf(ConcurrencyError);
      expect((await store.findById(sagaType, 'id-k1'))?.state).toEqual(third);
      // A loaded history changed in place changes nothing stored (a copy, or a frozen record).
      const copy = (await store.findById(sagaType, 'id-k1'))!.state as { history: unknown[] };
      changeOrRefuse(() => copy.history.push({ e: 'local' }));
      expect(((await store.findById(sagaType, 'id-k1'))!.state as typeof third).history).toHaveLength(4);
    });

    it('changing a loaded record changes nothing stored: reads are copies or frozen', async () => {
      const given = { n: 1, nested: { list: [1, 2] } };
      await store.commit({ expectedVersion: 0, newOutbox: [], record: record('k1', 1, given) });
      // Nor does changing what the commit was given.
      given.nested.list.push(3);
      const loaded = (await store.findByCorrelation(sagaType, 'k1')) as {
        state: { n: number; nested: { list: number[] } };
      };
      changeOrRefuse(() => (loaded.state.n = 99));
      changeOrRefuse(() => loaded.state.nested.list.push(4));
      changeOrRefuse(() => ((loaded as unknown as { version: number }).version = 7));
      expect(await store.findByCorrelation(sagaType, 'k1')).toMatchObject({
        version: 1,
        state: { n: 1, nested: { list: [1, 2] } },
      });
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

    it('finds instances with an entry due by next attempt time, earliest first, up to a limit', async () => {
      const at = (seconds: number): Date => new Date(t0.getTime() + seconds * 1000);
      const due = (id: string, createdAt: Date, nextAttemptAt?: Date): OutboxEntry => ({
        ...entry(id, createdAt),
        ...(nextAttemptAt ? { nextAttemptAt, attempts: 1 } : {}),
      });
      // k1: created long ago but backing off until +60 s; k2: due at -30 s; k3: empty;
      // k4: no next attempt time (stored before claims): due at its creation, -50 s; k5: due at -10 s.
      await store.commit({
        expectedVersion: 0,
        newOutbox: [due('e-1', at(-100), at(60))],
        record: record('k1', 1),
      });
      await store.commit({
        expectedVersion: 0,
        newOutbox: [due('e-2', at(-40), at(-30))],
        record: record('k2', 1),
      });
      await store.commit({ expectedVersion: 0, newOutbox: [], record: record('k3', 1) });
      await store.commit({ expectedVersion: 0, newOutbox: [due('e-4', at(-50))], record: record('k4', 1) });
      await store.commit({
        expectedVersion: 0,
        newOutbox: [due('e-5', at(-20), at(-10))],
        record: record('k5', 1),
      });
      const mine = (records: SagaRecord[]): string[] =>
        records.filter((r) => r.sagaType === sagaType).map((r) => r.correlationKey);
      expect(mine(await store.findDueOutbox(t0, 10))).toEqual(['k4', 'k2', 'k5']);
      expect(mine(await store.findDueOutbox(t0, 2))).toEqual(['k4', 'k2']);
      expect(mine(await store.findDueOutbox(at(60), 10))).toEqual(['k4', 'k2', 'k5', 'k1']);
      expect((await store.findDueOutbox(t0, 10)).find((r) => r.correlationKey === 'k2')?.outbox).toEqual([
        due('e-2', at(-40), at(-30)),
      ]);
      expect(await store.oldestPendingOutbox()).toEqual(at(-100));
      for (const [key, id] of [
        ['k1', 'e-1'],
        ['k2', 'e-2'],
        ['k4', 'e-4'],
        ['k5', 'e-5'],
      ] as const) {
        await store.markDispatched(sagaType, `id-${key}`, [id]);
      }
      expect(mine(await store.findDueOutbox(at(1000), 10))).toEqual([]);
      expect(await store.oldestPendingOutbox()).toBeUndefined();
    });

    it('claims entries by compare-and-set on their claim token: of two claimers one wins', async () => {
      await store.commit({
        expectedVersion: 0,
        newOutbox: [entry('e-1'), entry('e-2')],
        record: record('k1', 1),
      });
      const until = new Date(t0.getTime() + 30_000);
      const fresh = [
        { entryId: 'e-1', expectedClaim: undefined },
        { entryId: 'e-2', expectedClaim: undefined },
      ];
      const results = await Promise.all([
        store.claimOutbox(sagaType, 'id-k1', fresh, { token: 'a', until }),
        store.claimOutbox(sagaType, 'id-k1', fresh, { token: 'b', until }),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results[0] ? 'a' : 'b';
      const claimed = await store.findById(sagaType, 'id-k1');
      expect(claimed?.version).toBe(1);
      expect(claimed?.outbox.map((e) => [e.id, e.claim, e.attempts, e.nextAttemptAt])).toEqual([
        ['e-1', winner, 1, until],
        ['e-2', winner, 1, until],
      ]);
      // A stale token, a missing entry or a missing instance: nothing changes.
      expect(
        await store.claimOutbox(sagaType, 'id-k1', [{ entryId: 'e-1', expectedClaim: undefined }], {
          token: 'c',
          until,
        }),
      ).toBe(false);
      expect(
        await store.claimOutbox(
          sagaType,
          'id-k1',
          [
            { entryId: 'e-1', expectedClaim: winner },
            { entryId: 'e-9', expectedClaim: undefined },
          ],
          { token: 'c', until },
        ),
      ).toBe(false);
      expect(await store.claimOutbox(sagaType, 'id-none', fresh, { token: 'c', until })).toBe(false);
      expect((await store.findById(sagaType, 'id-k1'))?.outbox.map((e) => e.claim)).toEqual([winner, winner]);
      // The holder records a failure; a process whose claim was taken over cannot.
      const later = new Date(t0.getTime() + 5_000);
      const failure = { nextAttemptAt: later, error: 'Error: no route' };
      expect(await store.recordOutboxFailure(sagaType, 'id-k1', 'e-1', 'not-the-holder', failure)).toBe(
        false,
      );
      expect(await store.recordOutboxFailure(sagaType, 'id-k1', 'e-1', winner, failure)).toBe(true);
      expect(await store.recordOutboxFailure(sagaType, 'id-k1', 'e-9', winner, failure)).toBe(false);
      const failed = (await store.findById(sagaType, 'id-k1'))?.outbox[0];
      expect(failed).toMatchObject({
        id: 'e-1',
        attempts: 1,
        nextAttemptAt: later,
        lastError: 'Error: no route',
      });
      expect((await store.findDueOutbox(later, 10)).map((r) => r.id)).toContain('id-k1');
      // A second claim, on the token read, counts a second attempt; a commit keeps the claims.
      expect(
        await store.claimOutbox(sagaType, 'id-k1', [{ entryId: 'e-1', expectedClaim: winner }], {
          token: 'd',
          until,
        }),
      ).toBe(true);
      await store.commit({ expectedVersion: 1, newOutbox: [entry('e-3')], record: record('k1', 2) });
      const after = await store.findById(sagaType, 'id-k1');
      expect(after?.outbox.map((e) => [e.id, e.claim, e.attempts ?? 0])).toEqual([
        ['e-1', 'd', 2],
        ['e-2', winner, 1],
        ['e-3', undefined, 0],
      ]);
    });

    it('keeps dead letters by entry id: put is idempotent, list filters and pages, delete removes', async () => {
      const letter = (id: string, sagaId: string, type = sagaType) => ({
        entry: { ...entry(id), attempts: 3, lastError: 'Error: gone' },
        sagaType: type,
        sagaId,
        reason: '3 attempts failed; last: Error: gone',
        deadLetteredAt: t0,
      });
      await store.deadLetters.put(letter('d-1', 's-1'));
      await store.deadLetters.put(letter('d-1', 's-1'));
      await store.deadLetters.put(letter('d-3', 's-2'));
      await store.deadLetters.put(letter('d-2', 's-1'));
      await store.deadLetters.put(letter('d-4', 's-1', `${sagaType}-other`));
      expect(await store.deadLetters.get('d-1')).toEqual(letter('d-1', 's-1'));
      expect(await store.deadLetters.get('d-9')).toBeUndefined();
      const ids = (letters: { entry: OutboxEntry }[]): string[] => letters.map((l) => l.entry.id);
      expect(ids(await store.deadLetters.list({ sagaType }, { limit: 10 }))).toEqual(['d-1', 'd-2', 'd-3']);
      expect(ids(await store.deadLetters.list({ sagaType, sagaId: 's-1' }, { limit: 10 }))).toEqual([
        'd-1',
        'd-2',
      ]);
      expect(ids(await store.deadLetters.list({ sagaType }, { limit: 2, after: 'd-1' }))).toEqual([
        'd-2',
        'd-3',
      ]);
      expect(await store.deadLetters.delete('d-1')).toBe(true);
      expect(await store.deadLetters.delete('d-1')).toBe(false);
      expect(ids(await store.deadLetters.list({ sagaType }, { limit: 10 }))).toEqual(['d-2', 'd-3']);
      for (const id of ['d-2', 'd-3', 'd-4']) await store.deadLetters.delete(id);
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
