/**
 * The overview's counts snapshot: served without recounting while fresh, one refresh at a time,
 * a bounded wait for it, the last snapshot kept when a refresh fails; the page says "counting…"
 * until the first is in.
 */
import { describe, expect, it } from 'vitest';
import { ReadingsCache } from '../../src/console/readings.js';
import { overviewBody } from '../../src/console/pages/overview.js';
import { type InstanceCounts, silentLogger } from '../../src/index.js';

function counts(total: number): InstanceCounts {
  return { total, groups: [{ kind: 'saga', type: 'shop.Order', status: 'active', count: total }] };
}

/** A read the test finishes by hand. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('the overview readings snapshot', () => {
  it('serves a fresh snapshot without counting again, and counts again once it is old', async () => {
    let reads = 0;
    const cache = new ReadingsCache(async () => ({ counts: counts(++reads) }), silentLogger, {
      minAgeMs: 60_000,
    });
    expect((await cache.get())?.counts.total).toBe(1);
    expect((await cache.get())?.counts.total).toBe(1);
    expect(reads).toBe(1);
    const eager = new ReadingsCache(async () => ({ counts: counts(++reads) }), silentLogger, {
      minAgeMs: 0,
    });
    const first = (await eager.get())?.counts.total as number;
    await new Promise((resolve) => setTimeout(resolve, 5)); // older than 5x a refresh of ~0 ms
    expect((await eager.get())?.counts.total).toBe(first + 1);
  });

  it("stamps the snapshot on the console's clock, and ages it in real time", async () => {
    const virtual = new Date('2026-11-23T09:15:00Z'); // the demo's clock runs days behind
    let reads = 0;
    const cache = new ReadingsCache(async () => ({ counts: counts(++reads) }), silentLogger, {
      minAgeMs: 60_000,
      clock: { now: () => virtual },
    });
    expect((await cache.get())?.at).toEqual(virtual);
    // A snapshot taken "days ago" on that clock is still fresh: no recount.
    expect((await cache.get())?.counts.total).toBe(1);
    expect(reads).toBe(1);
  });

  it('runs one refresh at a time and waits for it only so long', async () => {
    const slow = gate();
    let reads = 0;
    const cache = new ReadingsCache(
      async () => {
        reads++;
        await slow.promise;
        return { counts: counts(7), oldestPendingOutbox: new Date(0) };
      },
      silentLogger,
      { waitMs: 20 },
    );
    cache.warm();
    const [a, b] = await Promise.all([cache.get(), cache.get()]);
    expect(a).toBeUndefined();
    expect(b).toBeUndefined();
    expect(reads).toBe(1);
    slow.open();
    await expect.poll(async () => (await cache.get())?.counts.total).toBe(7);
    expect(reads).toBe(1);
    expect((await cache.get())?.oldestPendingOutbox).toEqual(new Date(0));
  });

  it('keeps the last snapshot when a refresh fails, and throws when there is none', async () => {
    let fail = true;
    const cache = new ReadingsCache(
      async () => {
        if (fail) throw new Error('store down');
        return { counts: counts(3) };
      },
      silentLogger,
      { minAgeMs: 0 },
    );
    await expect(cache.get()).rejects.toThrow('store down');
    fail = false;
    expect((await cache.get())?.counts.total).toBe(3);
    fail = true;
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await cache.get())?.counts.total).toBe(3);
  });

  it('shows "counting…" on the overview until the first count is in', () => {
    const page = String(overviewBody({ errorQueues: [], readOnly: false, sources: {} }).toString());
    expect(page).toContain('counting…');
    expect(page).toContain('data-testid="counting"');
    const counted = String(
      overviewBody({
        counts: counts(2),
        countedAt: new Date('2026-12-01T05:00:00Z'),
        errorQueues: [],
        readOnly: false,
        sources: {},
      }).toString(),
    );
    expect(counted).toContain('data-testid="counted-at"');
    expect(counted).not.toContain('counting…');
  });
});
