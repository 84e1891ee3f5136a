/**
 * The timeout store conformance suite: every TimeoutStore adapter runs it unchanged (see
 * `src/timeouts/timeout-store.ts` for the contract it checks).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TimeoutRecord, type TimeoutStore } from '../../src/index.js';

/** What an adapter provides to the suite. */
export interface TimeoutStoreHarness {
  readonly store: TimeoutStore;
  /** Deletes what the test wrote and closes the store. */
  dispose(): Promise<void>;
}

export function describeTimeoutStoreConformance(
  name: string,
  create: () => Promise<TimeoutStoreHarness>,
): void {
  describe(`TimeoutStore conformance: ${name}`, () => {
    let harness: TimeoutStoreHarness;
    let store: TimeoutStore;
    let tag: string;
    // Far in the past, so every test's timeouts are due before anything another test left behind.
    const t0 = new Date(Date.UTC(1990, 0, 1) + Math.floor(Math.random() * 1e9));
    const at = (ms: number): Date => new Date(t0.getTime() + ms);
    const timeout = (id: string, dueInMs: number, sagaId = 's-1'): TimeoutRecord => ({
      id: `${tag}-${id}`,
      dueAt: at(dueInMs),
      destination: 'orders',
      message: {
        messageId: `${tag}-${id}`,
        headers: { 'longhaul.type': 'x.Due', 'x-tag': tag },
        body: `{"id":"${id}"}`,
      },
      sagaType: `Saga-${tag}`,
      sagaId,
    });
    const mine = <T extends { id: string }>(list: T[]): T[] => list.filter((t) => t.id.startsWith(`${tag}-`));

    beforeEach(async () => {
      harness = await create();
      store = harness.store;
      await store.init();
      tag = `to${randomUUID().slice(0, 8)}`;
    });

    afterEach(async () => {
      await harness.dispose();
    });

    it('schedules idempotently and lists by saga', async () => {
      await store.schedule(timeout('a', 1000));
      await store.schedule({ ...timeout('a', 5000), destination: 'changed' });
      await store.schedule(timeout('b', 2000, 's-2'));
      const listed = await store.listBySaga(`Saga-${tag}`, 's-1');
      expect(listed).toHaveLength(1);
      expect(listed[0]).toEqual(timeout('a', 1000));
    });

    it('claims only due timeouts, earliest first, up to the limit, and reports the next due time', async () => {
      await store.schedule(timeout('late', 3000));
      await store.schedule(timeout('second', 2000));
      await store.schedule(timeout('first', 1000));
      expect((await store.nextDueAt())?.getTime()).toBeLessThanOrEqual(at(1000).getTime());
      expect(mine(await store.claimDue(at(500), 10, 'owner-1', 60_000))).toEqual([]);
      const claimed = mine(await store.claimDue(at(2500), 10, 'owner-1', 60_000));
      expect(claimed.map((t) => t.id)).toEqual([`${tag}-first`, `${tag}-second`]);
      expect(claimed[0]?.leaseOwner).toBe('owner-1');
      expect(claimed[0]?.message).toEqual(timeout('first', 1000).message);
      const limited = await store.claimDue(at(3500), 1, 'owner-2', 60_000);
      expect(limited).toHaveLength(1);
    });

    it('never hands one timeout to two holders while the lease lasts; an expired lease frees it', async () => {
      await store.schedule(timeout('a', 0));
      expect(mine(await store.claimDue(at(10), 10, 'owner-1', 1000))).toHaveLength(1);
      expect(mine(await store.claimDue(at(500), 10, 'owner-2', 1000))).toHaveLength(0);
      const reclaimed = mine(await store.claimDue(at(2000), 10, 'owner-2', 1000));
      expect(reclaimed.map((t) => t.leaseOwner)).toEqual(['owner-2']);
      expect(await store.complete(`${tag}-a`, 'owner-1')).toBe(false);
      expect(await store.complete(`${tag}-a`, 'owner-2')).toBe(true);
      expect(await store.listBySaga(`Saga-${tag}`, 's-1')).toEqual([]);
    });

    it('gives each of many due timeouts to exactly one of several concurrent claimers', async () => {
      await Promise.all(Array.from({ length: 40 }, (_, i) => store.schedule(timeout(`t${i}`, i))));
      const claims = await Promise.all(
        Array.from({ length: 4 }, (_, c) => store.claimDue(at(100), 40, `owner-${c}`, 60_000)),
      );
      const ids = claims.flatMap((list) => mine(list).map((t) => t.id));
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toHaveLength(40);
    });

    it('cancels a pending timeout', async () => {
      await store.schedule(timeout('a', 0));
      expect(await store.cancel(`${tag}-a`)).toBe(true);
      expect(await store.cancel(`${tag}-a`)).toBe(false);
      expect(mine(await store.claimDue(at(10), 10, 'owner-1', 1000))).toEqual([]);
    });
  });
}
