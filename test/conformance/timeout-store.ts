/**
 * The timeout store conformance suite: every TimeoutStore adapter runs it unchanged (see
 * `src/timeouts/timeout-store.ts` for the contract it checks). Time is the store's: the harness
 * says what time the store thinks it is and lets it pass (a virtual clock, or real waiting).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TimeoutRecord, type TimeoutStore } from '../../src/index.js';

/** What an adapter provides to the suite. */
export interface TimeoutStoreHarness {
  readonly store: TimeoutStore;
  /** The store's time now, to within a few milliseconds. */
  now(): number;
  /** Lets `ms` of the store's time pass. */
  advance(ms: number): Promise<void>;
  /** Deletes what the test wrote and closes the store. */
  dispose(): Promise<void>;
}

const LEASE = 400;
/**
 * How long a lease or a retry delay must hold where a test asserts that it still holds: long
 * enough that a loaded machine's stall (these stores run on the wall clock) cannot outlast it.
 */
const HOLD = 3000;

export function describeTimeoutStoreConformance(
  name: string,
  create: () => Promise<TimeoutStoreHarness>,
): void {
  describe(`TimeoutStore conformance: ${name}`, () => {
    let harness: TimeoutStoreHarness;
    let store: TimeoutStore;
    let tag: string;
    let t0 = 0;
    const at = (ms: number): Date => new Date(t0 + ms);
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
    const mine = <T extends { id: string }>(list: readonly T[]): T[] =>
      list.filter((t) => t.id.startsWith(`${tag}-`));
    const claim = async (owner: string, limit = 10, leaseMs = LEASE) =>
      mine((await store.claimDue(limit, owner, leaseMs)).timeouts);

    beforeEach(async () => {
      harness = await create();
      store = harness.store;
      await store.init();
      tag = `to${randomUUID().slice(0, 8)}`;
      t0 = harness.now();
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

    it('claims only timeouts due by the store’s clock, earliest first, up to the limit, and says that time', async () => {
      await store.schedule(timeout('later', 60_000));
      await store.schedule(timeout('second', -2000));
      await store.schedule(timeout('first', -3000));
      await store.schedule(timeout('third', -1000));
      expect((await store.nextDueAt())?.getTime()).toBe(at(-3000).getTime());
      const result = await store.claimDue(2, 'owner-1', 60_000);
      expect(Math.abs(result.now.getTime() - harness.now())).toBeLessThan(1000);
      const claimed = mine(result.timeouts);
      expect(claimed.map((t) => t.id)).toEqual([`${tag}-first`, `${tag}-second`]);
      expect(claimed[0]).toMatchObject({ leaseOwner: 'owner-1', attempts: 1 });
      expect(claimed[0]?.leaseUntil.getTime()).toBe(result.now.getTime() + 60_000);
      expect(claimed[0]?.message).toEqual(timeout('first', 1000).message);
      expect((await claim('owner-2')).map((t) => t.id)).toEqual([`${tag}-third`]);
      expect(await claim('owner-2')).toEqual([]); // 'later' is not due
    });

    it('never hands one timeout to two holders while the lease lasts; an expired lease frees it', async () => {
      await store.schedule(timeout('a', -10));
      const claimedAt = harness.now();
      expect(await claim('owner-1', 10, HOLD)).toHaveLength(1);
      expect(await claim('owner-2', 10, HOLD)).toHaveLength(0);
      expect((await store.nextDueAt())?.getTime()).toBeGreaterThan(claimedAt); // the lease end, not the due time
      await harness.advance(HOLD + 200);
      const reclaimed = await claim('owner-2');
      expect(reclaimed.map((t) => [t.leaseOwner, t.attempts])).toEqual([['owner-2', 2]]);
      expect(await store.complete(`${tag}-a`, 'owner-1')).toBe(false);
      expect(await store.complete(`${tag}-a`, 'owner-2')).toBe(true);
      expect(await store.listBySaga(`Saga-${tag}`, 's-1')).toEqual([]);
    });

    it('renews only the leases the owner still holds, keeping them from other claimers', async () => {
      await store.schedule(timeout('a', -10));
      await store.schedule(timeout('b', -10));
      expect(await claim('owner-1')).toHaveLength(2);
      expect(await store.renew([`${tag}-a`, `${tag}-b`], 'owner-2', 10_000)).toEqual([]);
      expect(await store.renew([`${tag}-a`, `${tag}-nope`], 'owner-1', 10_000)).toEqual([`${tag}-a`]);
      await harness.advance(LEASE + 200);
      expect((await claim('owner-2')).map((t) => t.id)).toEqual([`${tag}-b`]); // a's renewed lease holds
      expect(await store.complete(`${tag}-a`, 'owner-1')).toBe(true);
    });

    it('completes a batch at once: deletes only the timeouts the owner still holds and counts them', async () => {
      for (const id of ['a', 'b', 'c', 'd']) await store.schedule(timeout(id, -10));
      expect(await claim('owner-1', 3)).toHaveLength(3); // a, b, c (earliest first: same due time, by id)
      expect(await store.fail(`${tag}-c`, 'owner-1', { reason: 'later', retryAfterMs: HOLD })).toBe(true);
      const ids = ['a', 'b', 'c', 'd', 'nope'].map((id) => `${tag}-${id}`);
      expect(await store.completeMany(ids, 'owner-2')).toBe(0);
      expect(await store.completeMany(ids, 'owner-1')).toBe(2);
      expect(await store.completeMany([], 'owner-1')).toBe(0);
      const left = await store.listBySaga(`Saga-${tag}`, 's-1');
      expect(left.map((t) => t.id)).toEqual([`${tag}-c`, `${tag}-d`]);
    });

    it('gives each of many due timeouts to exactly one of several concurrent claimers', async () => {
      await Promise.all(Array.from({ length: 40 }, (_, i) => store.schedule(timeout(`t${i}`, -1000 + i))));
      const claims = await Promise.all(
        Array.from({ length: 4 }, (_, c) => store.claimDue(40, `owner-${c}`, 60_000)),
      );
      const ids = claims.flatMap((claimed) => mine(claimed.timeouts).map((t) => t.id));
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toHaveLength(40);
    });

    it('takes back a failed delivery for a retry after the delay, with its attempts and reason', async () => {
      await store.schedule(timeout('a', -10));
      expect(await claim('owner-1')).toHaveLength(1);
      expect(await store.fail(`${tag}-a`, 'owner-2', { reason: 'not mine', retryAfterMs: 0 })).toBe(false);
      const failedAt = harness.now();
      expect(await store.fail(`${tag}-a`, 'owner-1', { reason: 'boom', retryAfterMs: HOLD })).toBe(true);
      expect(await store.complete(`${tag}-a`, 'owner-1')).toBe(false); // given back: no longer held
      expect(await claim('owner-1')).toEqual([]);
      const next = (await store.nextDueAt())?.getTime() ?? 0;
      expect(next).toBeGreaterThanOrEqual(failedAt + HOLD - 100);
      await harness.advance(HOLD + 200);
      const [again] = await claim('owner-2');
      expect(again).toMatchObject({ id: `${tag}-a`, attempts: 2, lastError: 'boom', leaseOwner: 'owner-2' });
    });

    it('keeps a dead-lettered timeout out of claims, lists it with the reason, and replays or deletes it', async () => {
      await store.schedule(timeout('a', -20));
      await store.schedule(timeout('b', -10));
      await claim('owner-1');
      expect(await store.fail(`${tag}-a`, 'owner-1', { reason: 'no such queue', deadLetter: true })).toBe(
        true,
      );
      expect(await store.fail(`${tag}-b`, 'owner-1', { reason: 'refused', deadLetter: true })).toBe(true);
      await harness.advance(LEASE + 200);
      expect(await claim('owner-2')).toEqual([]);
      expect(await store.nextDueAt()).toBeUndefined();
      const dead = mine(await store.deadLetters.list());
      expect(dead.map((d) => [d.id, d.reason, d.attempts])).toEqual([
        [`${tag}-a`, 'no such queue', 1],
        [`${tag}-b`, 'refused', 1],
      ]);
      expect(dead[0]?.message).toEqual(timeout('a', 0).message);
      expect(dead[0]?.deadLetteredAt.getTime()).toBeGreaterThan(t0 - 1000);
      expect(await store.listBySaga(`Saga-${tag}`, 's-1')).toHaveLength(2);

      expect(await store.deadLetters.replay(`${tag}-a`)).toBe(true);
      expect(await store.deadLetters.replay(`${tag}-a`)).toBe(false); // no longer dead-lettered
      expect(await store.deadLetters.delete(`${tag}-a`)).toBe(false);
      const [replayed] = await claim('owner-2');
      expect(replayed).toMatchObject({ id: `${tag}-a`, attempts: 1 });
      expect(await store.complete(`${tag}-a`, 'owner-2')).toBe(true);

      expect(await store.deadLetters.delete(`${tag}-b`)).toBe(true);
      expect(mine(await store.deadLetters.list())).toEqual([]);
      expect(await store.listBySaga(`Saga-${tag}`, 's-1')).toEqual([]);
    });

    it('cancels a pending timeout', async () => {
      await store.schedule(timeout('a', -10));
      expect(await store.cancel(`${tag}-a`)).toBe(true);
      expect(await store.cancel(`${tag}-a`)).toBe(false);
      expect(await claim('owner-1')).toEqual([]);
    });
  });
}
