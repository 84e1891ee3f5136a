/**
 * The timeout scheduler against the in-memory store on virtual clocks: a worker whose clock is
 * minutes off (the store's clock decides), a slow transport under a short lease (the batch's lease
 * is renewed while it is delivered), and a destination that keeps failing (retried with backoff,
 * then dead-lettered, then replayed).
 */
import { describe, expect, it } from 'vitest';
import {
  type Clock,
  InMemoryTimeoutStore,
  type Logger,
  silentLogger,
  VirtualClock,
} from '../../src/index.js';
import { TimeoutScheduler, type SchedulerOptions } from '../../src/timeouts/scheduler.js';
import { type ClaimedTimeout, type TimeoutRecord } from '../../src/timeouts/timeout-store.js';
import { yieldToEventLoop } from '../../src/util/clock.js';

const MINUTE = 60_000;

/** `inner`, read `byMs` off: what a worker with a wrong wall clock sees. */
function skewed(inner: VirtualClock, byMs: number): Clock {
  return {
    now: () => new Date(inner.now().getTime() + byMs),
    sleep: (ms, signal) => inner.sleep(ms, signal),
  };
}

function due(id: string, dueAt: Date, destination = 'x'): TimeoutRecord {
  return { id, dueAt, destination, message: { messageId: id, headers: {}, body: '{}' } };
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await yieldToEventLoop();
};

const options: SchedulerOptions = { pollIntervalMs: 1000, batchSize: 10, leaseMs: 30_000 };

describe('timeout scheduler', () => {
  it('a worker clock minutes ahead neither fires a timeout early nor takes a live lease', async () => {
    const clock = new VirtualClock();
    const store = new InMemoryTimeoutStore({ clock });
    const delivered: string[] = [];
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const correct = new TimeoutScheduler(
      store,
      async (t) => {
        await slow;
        delivered.push(`correct:${t.id}`);
      },
      clock,
      silentLogger,
      options,
    );
    const ahead = new TimeoutScheduler(
      store,
      async (t) => void delivered.push(`ahead:${t.id}`),
      skewed(clock, 5 * MINUTE),
      silentLogger,
      options,
    );
    await store.schedule(due('in-2-min', new Date(clock.now().getTime() + 2 * MINUTE)));
    expect(await ahead.runOnce()).toEqual({ claimed: 0, delivered: 0 }); // due by its clock, not by the store's

    await clock.advance('2m');
    const correctRun = correct.runOnce(); // claims it, lease 30 s, delivery still in flight
    await settle();
    expect(await ahead.runOnce()).toEqual({ claimed: 0, delivered: 0 }); // the lease is live by the store's clock
    release();
    expect(await correctRun).toEqual({ claimed: 1, delivered: 1 });
    expect(delivered).toEqual(['correct:in-2-min']);
  });

  it('a worker clock minutes behind still delivers on time, sleeping by the store’s time', async () => {
    const clock = new VirtualClock();
    const store = new InMemoryTimeoutStore({ clock });
    const delivered: number[] = [];
    const behind = new TimeoutScheduler(
      store,
      async () => void delivered.push(clock.now().getTime()),
      skewed(clock, -5 * MINUTE),
      silentLogger,
      { ...options, pollIntervalMs: 10 * MINUTE },
    );
    behind.start();
    await settle();
    const dueAt = new Date(clock.now().getTime() + 2 * MINUTE);
    await store.schedule(due('in-2-min', dueAt));
    behind.poke(dueAt);
    await settle();
    await clock.advance('2m');
    await settle();
    await behind.stop();
    expect(delivered).toEqual([dueAt.getTime()]);
  });

  it('a slow transport does not let a second scheduler re-claim the rest of a batch: each timeout is delivered once', async () => {
    const clock = new VirtualClock();
    const store = new InMemoryTimeoutStore({ clock });
    const deliveries = new Map<string, string[]>();
    const slowScheduler = (name: string, concurrency: number): TimeoutScheduler =>
      new TimeoutScheduler(
        store,
        async (t: ClaimedTimeout) => {
          await clock.sleep(2000); // each publish takes 2 s, the lease is 3 s
          deliveries.set(t.id, [...(deliveries.get(t.id) ?? []), name]);
        },
        clock,
        silentLogger,
        { pollIntervalMs: 500, batchSize: 10, leaseMs: 3000, concurrency },
      );
    for (let i = 0; i < 20; i++) await store.schedule(due(`t-${i}`, clock.now()));
    const a = slowScheduler('a', 1);
    const b = slowScheduler('b', 2);
    a.start();
    await settle();
    b.start();
    for (let i = 0; i < 200 && store.size > 0; i++) await clock.advance(250);
    let stopped = false;
    const stopping = Promise.all([a.stop(), b.stop()]).then(() => (stopped = true));
    while (!stopped) await clock.advance(250); // deliveries in flight finish on the virtual clock
    await stopping;
    expect(deliveries.size).toBe(20);
    const twice = [...deliveries].filter(([, by]) => by.length > 1);
    expect(twice).toEqual([]);
    expect(new Set([...deliveries.values()].flat())).toEqual(new Set(['a', 'b'])); // both worked
  });

  it('retries a failing destination with growing delays, dead-letters it after maxAttempts, and replays it', async () => {
    const clock = new VirtualClock();
    const store = new InMemoryTimeoutStore({ clock });
    const attempts: number[] = [];
    const errors: string[] = [];
    const logger: Logger = { ...silentLogger, error: (message) => errors.push(message) };
    let queueExists = false;
    const scheduler = new TimeoutScheduler(
      store,
      async (t) => {
        attempts.push(clock.now().getTime());
        if (!queueExists && t.destination === 'missing') throw new Error("no queue 'missing'");
      },
      clock,
      logger,
      { ...options, maxAttempts: 4, retryDelayMs: 1000, maxRetryDelayMs: 3000 },
    );
    const t0 = clock.now().getTime();
    await store.schedule(due('lost', clock.now(), 'missing'));
    await store.schedule(due('fine', clock.now(), 'present'));
    scheduler.start();
    for (let i = 0; i < 40; i++) await clock.advance(500);
    expect(attempts.map((at) => at - t0)).toEqual([0, 0, 1000, 3000, 6000]); // fine once; lost after 1 s, 2 s, 3 s (capped)
    const [dead] = await store.deadLetters.list();
    expect(dead).toMatchObject({
      id: 'lost',
      destination: 'missing',
      attempts: 4,
      reason: "no queue 'missing'",
    });
    expect(errors.filter((e) => e.startsWith('timeout dead-lettered'))).toHaveLength(1);
    expect(store.size).toBe(1); // kept, not dropped

    queueExists = true;
    expect(await store.deadLetters.replay('lost')).toBe(true);
    scheduler.poke();
    await settle();
    await clock.advance(1000);
    await scheduler.stop();
    expect(attempts).toHaveLength(6);
    expect(store.size).toBe(0);
    expect(await store.deadLetters.list()).toEqual([]);
  });
});
