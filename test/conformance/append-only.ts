/**
 * The append-only array conformance suite (a workflow's history; `SagaCommit.append`,
 * `SagaCommit.appendOnly` and `FindOptions.known` in `src/persistence/saga-store.ts`): whatever a
 * store keeps apart (the MongoDB store seals chunks of 100 items) and whatever hint a load gives,
 * every read returns the whole array as committed. Every SagaStore adapter runs it unchanged.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConcurrencyError, type SagaRecord, type SagaStore } from '../../src/index.js';
import { type SagaStoreHarness } from './saga-store.js';

type Writable = Omit<SagaRecord, 'outbox'>;
interface Item {
  readonly i: number;
  readonly at: Date;
  readonly tag: string;
}
interface State {
  readonly step: number;
  readonly history: readonly Item[];
}

export function describeAppendOnlyConformance(name: string, create: () => Promise<SagaStoreHarness>): void {
  describe(`SagaStore append-only arrays: ${name}`, () => {
    let harness: SagaStoreHarness;
    let store: SagaStore;
    let sagaType: string;
    const t0 = new Date('2026-03-01T10:00:00.000Z');

    const items = (from: number, to: number, tag = 'a'): Item[] =>
      Array.from({ length: to - from }, (_, k) => ({
        i: from + k,
        at: new Date(t0.getTime() + from + k),
        tag,
      }));
    const record = (version: number, state: State | null): Writable => ({
      sagaType,
      id: 'id-1',
      correlationKey: 'k-1',
      version,
      status: state ? 'active' : 'completed',
      state,
      inbox: [],
      timeouts: [],
      createdAt: t0,
      updatedAt: t0,
    });
    /** Commits `history` on `version - 1`, as an append of the items after `from` (or whole). */
    const commit = (version: number, history: readonly Item[], from?: number) =>
      store.commit({
        expectedVersion: version - 1,
        newOutbox: [],
        record: record(version, { step: version, history }),
        appendOnly: 'history',
        ...(from !== undefined ? { append: { field: 'history', from, removed: [] } } : {}),
      });
    const load = (known?: { version: number; field?: string; items: readonly unknown[] }) =>
      store.findById(sagaType, 'id-1', known ? { known: { field: 'history', ...known } } : undefined);
    const historyOf = (found: SagaRecord | undefined) => (found?.state as State | null | undefined)?.history;

    beforeEach(async () => {
      harness = await create();
      store = harness.store;
      await store.init();
      sagaType = `AppendOnly-${randomUUID().slice(0, 8)}`;
    });

    afterEach(async () => {
      await harness.dispose();
    });

    it('reads an array appended to across many chunk boundaries back whole, with or without a hint', async () => {
      let history = items(0, 3);
      await commit(1, history);
      let version = 1;
      for (const to of [40, 99, 100, 101, 180, 263, 300, 301]) {
        const before = history;
        history = [...history, ...items(history.length, to)];
        version++;
        await commit(version, history, before.length);
        const plain = await load();
        expect(historyOf(plain)).toEqual(history);
        expect((plain?.state as State).step).toBe(version);
        expect(plain?.version).toBe(version);
        // A hint at the version stored: the same record.
        expect(await load({ version, items: history })).toEqual(plain);
        // Hints that do not apply are ignored: another version, another field, too few items.
        const bogus = items(0, history.length, 'stale');
        expect(historyOf(await load({ version: version - 1, items: bogus }))).toEqual(history);
        expect(historyOf(await load({ version, field: 'other', items: bogus }))).toEqual(history);
        expect(historyOf(await load({ version, items: [] }))).toEqual(history);
      }
      const byKey = await store.findByCorrelation(sagaType, 'k-1', {
        known: { version, field: 'history', items: history },
      });
      expect(historyOf(byKey)).toEqual(history);
      expect(historyOf(byKey)?.[250]?.at).toBeInstanceOf(Date);
    });

    it('a commit that loses its conditional write leaves the array as the winner stored it', async () => {
      const base = items(0, 95);
      await commit(1, base);
      const mine = [...base, ...items(95, 130, 'mine')];
      const theirs = [...base, ...items(95, 210, 'theirs')];
      const results = await Promise.allSettled([commit(2, mine, 95), commit(2, theirs, 95)]);
      const won = results.findIndex((r) => r.status === 'fulfilled');
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.find((r) => r.status === 'rejected')).toMatchObject({
        reason: expect.any(ConcurrencyError),
      });
      const winner = won === 0 ? mine : theirs;
      expect(historyOf(await load())).toEqual(winner);
      // A retry of the losing commit on the old version loses again and changes nothing.
      await expect(commit(2, won === 0 ? theirs : mine, 95)).rejects.toBeInstanceOf(ConcurrencyError);
      const next = [...winner, ...items(winner.length, 320)];
      await commit(3, next, winner.length);
      expect(historyOf(await load())).toEqual(next);
    });

    it('replaces the array whole when a commit rewrites it (a reset), then appends from there', async () => {
      const long = items(0, 250);
      await commit(1, long);
      const rewound = items(0, 120, 'reset');
      await commit(2, rewound);
      expect(historyOf(await load())).toEqual(rewound);
      expect(historyOf(await load({ version: 1, items: long }))).toEqual(rewound);
      const grown = [...rewound, ...items(120, 215, 'reset')];
      await commit(3, grown, 120);
      expect(historyOf(await load({ version: 3, items: grown }))).toEqual(grown);
      expect(historyOf(await load())).toEqual(grown);
    });

    it('goes on from an array stored whole without appendOnly (a version before chunks)', async () => {
      const old = items(0, 230);
      await store.commit({ expectedVersion: 0, newOutbox: [], record: record(1, { step: 1, history: old }) });
      const grown = [...old, ...items(230, 240)];
      await commit(2, grown, 230);
      expect(historyOf(await load())).toEqual(grown);
      const more = [...grown, ...items(240, 330)];
      await commit(3, more, 240);
      expect(historyOf(await load())).toEqual(more);
    });

    it('completing drops the array; deleting removes the instance with it', async () => {
      const history = items(0, 205);
      await commit(1, history);
      await store.commit({
        expectedVersion: 1,
        newOutbox: [],
        record: record(2, null),
        appendOnly: 'history',
      });
      const done = await load();
      expect(done?.status).toBe('completed');
      expect(done?.state).toBeNull();
      expect(await store.delete(sagaType, 'id-1')).toBe(true);
      expect(await load()).toBeUndefined();
      await commit(1, items(0, 150, 'again'));
      expect(historyOf(await load())).toEqual(items(0, 150, 'again'));
    });
  });
}
