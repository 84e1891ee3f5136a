/**
 * The partition-leases conformance suite: every PartitionLeases adapter runs it unchanged (see
 * `src/persistence/partition-leases.ts` for the contract). Time is the store's: the harness lets it
 * pass (a virtual clock, or real waiting).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type PartitionLeases } from '../../src/index.js';

/** What an adapter provides to the suite. */
export interface PartitionLeasesHarness {
  readonly leases: PartitionLeases;
  /** Lets `ms` of the store's time pass. */
  advance(ms: number): Promise<void>;
  /** Deletes what the test wrote and closes the store. */
  dispose(): Promise<void>;
}

/** A lease that expires in the tests that wait for it to. */
const SHORT = 300;
/** A lease that must still hold where a test asserts it does (longer than a loaded machine's stall). */
const HOLD = 30_000;

export function describePartitionLeasesConformance(
  name: string,
  create: () => Promise<PartitionLeasesHarness>,
): void {
  describe(`PartitionLeases conformance: ${name}`, () => {
    let harness: PartitionLeasesHarness;
    let leases: PartitionLeases;
    let endpoint: string;

    beforeEach(async () => {
      harness = await create();
      leases = harness.leases;
      endpoint = `conf-${randomUUID().slice(0, 8)}`;
      await leases.init();
    });
    afterEach(async () => {
      await harness.dispose();
    });

    it('lists the live members sorted, and forgets one that left or stopped renewing', async () => {
      expect(await leases.heartbeat(endpoint, 'm-b', HOLD)).toEqual(['m-b']);
      expect(await leases.heartbeat(endpoint, 'm-a', HOLD)).toEqual(['m-a', 'm-b']);
      expect(await leases.heartbeat(endpoint, 'm-c', SHORT)).toEqual(['m-a', 'm-b', 'm-c']);
      await leases.leave(endpoint, 'm-b');
      expect(await leases.heartbeat(endpoint, 'm-a', HOLD)).toEqual(['m-a', 'm-c']);
      await harness.advance(SHORT + 100);
      expect(await leases.heartbeat(endpoint, 'm-a', HOLD)).toEqual(['m-a']);
      expect(await leases.heartbeat(`${endpoint}-other`, 'm-z', HOLD)).toEqual(['m-z']);
    });

    it('gives a partition to one member at a time; the holder renews it', async () => {
      expect(await leases.claim(endpoint, 0, 'm-a', HOLD)).toBe(true);
      expect(await leases.claim(endpoint, 0, 'm-b', HOLD)).toBe(false);
      expect(await leases.claim(endpoint, 0, 'm-a', HOLD)).toBe(true);
      expect(await leases.claim(endpoint, 1, 'm-b', HOLD)).toBe(true);
      expect(await leases.claim(`${endpoint}-other`, 0, 'm-b', HOLD)).toBe(true);
      const holders = await leases.holders(endpoint);
      expect(holders.map((h) => [h.partition, h.member])).toEqual([
        [0, 'm-a'],
        [1, 'm-b'],
      ]);
    });

    it('lets exactly one of many racing members win a free partition', async () => {
      const members = Array.from({ length: 8 }, (_, i) => `m-${i}`);
      const won = await Promise.all(members.map((m) => leases.claim(endpoint, 3, m, HOLD)));
      expect(won.filter(Boolean)).toHaveLength(1);
      const [holder] = await leases.holders(endpoint);
      expect(holder?.member).toBe(members[won.indexOf(true)]);
    });

    it('frees a released partition at once, and an expired one after its lease', async () => {
      expect(await leases.claim(endpoint, 0, 'm-a', HOLD)).toBe(true);
      await leases.release(endpoint, 0, 'm-b'); // not the holder: no effect
      expect(await leases.claim(endpoint, 0, 'm-b', HOLD)).toBe(false);
      await leases.release(endpoint, 0, 'm-a');
      expect(await leases.claim(endpoint, 0, 'm-b', SHORT)).toBe(true);
      expect(await leases.claim(endpoint, 0, 'm-a', HOLD)).toBe(false);
      await harness.advance(SHORT + 100);
      expect(await leases.holders(endpoint)).toEqual([]);
      expect(await leases.claim(endpoint, 0, 'm-a', HOLD)).toBe(true);
      expect((await leases.holders(endpoint)).map((h) => h.member)).toEqual(['m-a']);
    });
  });
}
