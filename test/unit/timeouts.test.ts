import { describe, expect, it } from 'vitest';
import {
  Command,
  Event,
  Handles,
  InMemoryTimeoutStore,
  Message,
  OnTimeout,
  Saga,
  type SagaContext,
  StartedBy,
  silentLogger,
  VirtualClock,
} from '../../src/index.js';
import { TimeoutScheduler } from '../../src/timeouts/scheduler.js';
import { type TimeoutClaim, type TimeoutRecord } from '../../src/timeouts/timeout-store.js';
import { yieldToEventLoop } from '../../src/util/clock.js';
import { emitted, startEndpoint } from '../support/endpoint.js';

@Event('tm.Started')
class Started {
  constructor(
    readonly id: string,
    readonly remindIn: string,
  ) {}
}
@Event('tm.StopReminding')
class StopReminding {
  constructor(readonly id: string) {}
}
@Event('tm.Finish')
class Finish {
  constructor(readonly id: string) {}
}
@Message('tm.Remind')
class Remind {
  constructor(
    readonly id: string,
    readonly n: number,
  ) {}
}
@Command('tm.Ping')
class Ping {
  constructor(readonly id: string) {}
}
@Event('tm.Reminded')
class Reminded {
  constructor(
    readonly id: string,
    readonly n: number,
    readonly at: Date,
  ) {}
}

@Saga('Reminder')
class ReminderSaga {
  @StartedBy(Started, { correlateBy: (m) => m.id })
  async started(m: Started, ctx: SagaContext<{ reminded: number }>): Promise<void> {
    ctx.state = { reminded: 0 };
    await ctx.requestTimeout(new Remind(m.id, 1), { after: m.remindIn });
    await ctx.requestTimeout(new Remind(m.id, 2), { at: new Date(ctx.now().getTime() + 90 * 86_400_000) });
  }

  @OnTimeout(Remind)
  async remind(m: Remind, ctx: SagaContext<{ reminded: number }>): Promise<void> {
    ctx.state.reminded++;
    await ctx.publish(new Reminded(m.id, m.n, ctx.now()));
  }

  @Handles(StopReminding, { correlateBy: (m) => m.id })
  async stop(_m: StopReminding, ctx: SagaContext<{ reminded: number }>): Promise<void> {
    await ctx.cancelTimeout(Remind);
  }

  @Handles(Finish, { correlateBy: (m) => m.id })
  finish(_m: Finish, ctx: SagaContext<{ reminded: number }>): void {
    ctx.complete();
  }
}

/** A timeout due at `dueAt`, to `destination`. */
function due(id: string, dueAt: Date, destination = 'x'): TimeoutRecord {
  return { id, dueAt, destination, message: { messageId: id, headers: {}, body: '{}' } };
}

/** A saga that schedules its timeouts but whose completion leaves one behind on purpose. */
const start = () => startEndpoint({ sagas: [ReminderSaga] });

describe('timeouts', () => {
  it('fire on the virtual clock at their due time, back to the instance that asked, months away too', async () => {
    const t = await start();
    const startedAt = t.clock.now().getTime();
    await t.deliver(new Started('r-1', '15m'));
    expect(
      (
        await t.timeoutStore.listBySaga(
          'Reminder',
          (await t.sagaStore.findByCorrelation('Reminder', 'r-1'))!.id,
        )
      ).length,
    ).toBe(2);
    await t.clock.advance('14m59s');
    await t.idle();
    expect(emitted(t.transport, 'tm.Reminded')).toHaveLength(0);
    await t.clock.advance('1s');
    await t.idle();
    const [first] = emitted(t.transport, 'tm.Reminded');
    expect(first?.body).toMatchObject({ id: 'r-1', n: 1 });
    expect(new Date((first?.body as { at: { $date: string } }).at.$date).getTime()).toBe(
      startedAt + 15 * 60_000,
    );
    await t.clock.advance('90d');
    await t.idle();
    expect(emitted(t.transport, 'tm.Reminded').map((m) => (m.body as Reminded).n)).toEqual([1, 2]);
    expect((await t.sagaStore.findByCorrelation('Reminder', 'r-1'))?.state).toEqual({ reminded: 2 });
    expect((await t.sagaStore.findByCorrelation('Reminder', 'r-1'))?.timeouts).toEqual([]);
    expect(t.timeoutStore.size).toBe(0);
  });

  it('can be cancelled', async () => {
    const t = await start();
    await t.deliver(new Started('r-2', '1h'));
    await t.deliver(new StopReminding('r-2'));
    expect(t.timeoutStore.size).toBe(0);
    await t.clock.advance('100d');
    await t.idle();
    expect(emitted(t.transport, 'tm.Reminded')).toHaveLength(0);
    expect((await t.sagaStore.findByCorrelation('Reminder', 'r-2'))?.state).toEqual({ reminded: 0 });
  });

  it('are cancelled when the saga completes; one that still arrives is dropped', async () => {
    const t = await start();
    await t.deliver(new Started('r-3', '1h'));
    const id = (await t.sagaStore.findByCorrelation('Reminder', 'r-3'))!.id;
    const [pending] = await t.timeoutStore.listBySaga('Reminder', id);
    await t.deliver(new Finish('r-3'));
    expect(t.timeoutStore.size).toBe(0);
    // A timeout delivered anyway (a scheduler claimed it just before the cancel) is acknowledged and dropped.
    await t.timeoutStore.schedule({ ...pending!, dueAt: t.clock.now() });
    await t.endpoint.deliverDueTimeouts();
    await t.idle();
    expect(emitted(t.transport, 'tm.Reminded')).toHaveLength(0);
    expect(t.transport.errors('unit')).toHaveLength(0);
    expect(t.handled.at(-1)?.sagas[0]?.result).toBe('completed-ignored');
  });

  it('the bus schedules a command for later delivery', async () => {
    const t = await startEndpoint({ sagas: [ReminderSaga], routes: { 'tm.Ping': 'pings' } });
    await t.endpoint.bus.schedule(new Ping('p-1'), { after: '2h' });
    await t.clock.advance('1h');
    await t.idle();
    expect(emitted(t.transport, 'tm.Ping')).toHaveLength(0);
    await t.clock.advance('1h');
    await t.idle();
    expect(emitted(t.transport, 'tm.Ping').map((m) => m.destination)).toEqual([['pings']]);
  });

  it('two schedulers on one store deliver each due timeout once; a dead claimer’s lease expires and the other takes over', async () => {
    const clock = new VirtualClock();
    const store = new InMemoryTimeoutStore({ clock });
    const delivered: string[] = [];
    const options = { pollIntervalMs: 1000, batchSize: 7, leaseMs: 30_000 };
    const live = new TimeoutScheduler(
      store,
      async (t) => void delivered.push(t.id),
      clock,
      silentLogger,
      options,
    );
    for (let i = 0; i < 50; i++) await store.schedule(due(`t-${i}`, clock.now()));
    await store.claimDue(7, 'a-scheduler-that-dies', 30_000); // dies holding their leases
    for (let i = 0; i < 10; i++) await Promise.all([live.runOnce(), live.runOnce()]);
    expect(delivered).toHaveLength(43);
    await clock.advance('31s');
    for (let i = 0; i < 3; i++) await live.runOnce();
    expect(delivered).toHaveLength(50);
    expect(new Set(delivered).size).toBe(50);
    expect(store.size).toBe(0);
  });

  it('a scheduled timeout wakes the scheduler only if it falls due before its next planned look', async () => {
    const clock = new VirtualClock();
    let looks = 0;
    let peeks = 0;
    class CountingStore extends InMemoryTimeoutStore {
      override claimDue(limit: number, owner: string, leaseMs: number): Promise<TimeoutClaim> {
        looks++;
        return super.claimDue(limit, owner, leaseMs);
      }
      override nextDueAt(): Promise<Date | undefined> {
        peeks++;
        return super.nextDueAt();
      }
    }
    const store = new CountingStore({ clock });
    const delivered: string[] = [];
    const scheduler = new TimeoutScheduler(
      store,
      async (t) => void delivered.push(t.id),
      clock,
      silentLogger,
      {
        pollIntervalMs: 10_000,
        batchSize: 10,
        leaseMs: 30_000,
      },
    );
    const settle = async (): Promise<void> => {
      for (let i = 0; i < 5; i++) await yieldToEventLoop();
    };
    const schedule = async (id: string, inMs: number): Promise<void> => {
      const dueAt = new Date(clock.now().getTime() + inMs);
      await store.schedule({
        id,
        dueAt,
        destination: 'x',
        message: { messageId: id, headers: {}, body: '{}' },
      });
      scheduler.poke(dueAt);
      await settle();
    };
    scheduler.start();
    await settle();
    expect(looks).toBe(1); // the first look, then asleep until +10 s

    await schedule('in-an-hour', 3_600_000);
    expect(looks).toBe(1); // the look planned at +10 s comes first: no extra query

    await schedule('in-2s', 2000);
    expect(looks).toBe(2); // due before the planned look: looked again, now sleeps until +2 s
    await clock.advance('2s');
    await settle();
    expect(delivered).toEqual(['in-2s']);

    scheduler.poke(); // no due time: look now
    await settle();
    expect(looks).toBe(4);

    // Idle looks every 10 s claim nothing and do not ask for the next due time again: it is known
    // (the hour-away timeout) until it passes.
    const peeksBefore = peeks;
    for (let i = 0; i < 3; i++) {
      await clock.advance('10s');
      await settle();
    }
    expect(looks).toBe(7);
    expect(peeks).toBe(peeksBefore);
    await clock.advance('1h');
    await settle();
    expect(delivered).toEqual(['in-2s', 'in-an-hour']);
    await scheduler.stop();
  });
});
