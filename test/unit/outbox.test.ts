/**
 * How a commit's outbox is carried out: its timeouts are stored before its messages go out, so
 * nothing the messages cause can overtake them; and a redelivery or the sweeper, carrying out
 * entries left pending, does not store a timeout that the saga has cancelled since.
 */
import { describe, expect, it } from 'vitest';
import {
  Command,
  Endpoint,
  type EndpointOptions,
  Event,
  type Handler,
  type HandlerContext,
  HandlerFor,
  Handles,
  OnTimeout,
  Saga,
  type SagaContext,
  silentLogger,
  StartedBy,
  type TimeoutRecord,
} from '../../src/index.js';
import { emitted, startEndpoint, type TestEndpoint } from '../support/endpoint.js';

@Event('ob.Placed')
class Placed {
  constructor(readonly orderId: string) {}
}
@Command('ob.Charge')
class Charge {
  constructor(readonly orderId: string) {}
}
@Event('ob.Charged')
class Charged {
  constructor(readonly orderId: string) {}
}
@Event('ob.Overdue')
class Overdue {
  constructor(readonly orderId: string) {}
}

/** Charges and waits for the answer, with a deadline the answer cancels. */
@Saga('ob.Payment')
class PaymentSaga {
  @StartedBy(Placed, { correlateBy: (m) => m.orderId })
  async placed(msg: Placed, ctx: SagaContext<{ overdue: boolean }>): Promise<void> {
    ctx.state = { overdue: false };
    await ctx.send(new Charge(msg.orderId));
    await ctx.requestTimeout(new Overdue(msg.orderId), { after: '15m' });
  }

  @Handles(Charged, { correlateBy: (m) => m.orderId })
  async charged(_msg: Charged, ctx: SagaContext<{ overdue: boolean }>): Promise<void> {
    await ctx.cancelTimeout(Overdue);
    ctx.complete();
  }

  @OnTimeout(Overdue)
  overdue(_msg: Overdue, ctx: SagaContext<{ overdue: boolean }>): void {
    ctx.state.overdue = true;
    ctx.complete();
  }
}

/** Answers at once, as a payment service on an idle machine does. */
@HandlerFor(Charge)
class PaymentService implements Handler<Charge> {
  async handle(msg: Charge, ctx: HandlerContext): Promise<void> {
    await ctx.publish(new Charged(msg.orderId));
  }
}

/** What every worker of these tests runs. */
const worker = {
  sagas: [PaymentSaga],
  handlers: [PaymentService],
  routes: { 'ob.Charge': 'unit' },
} satisfies Partial<EndpointOptions>;

const start = (extra: Parameters<typeof startEndpoint>[0] = {}): Promise<TestEndpoint> =>
  startEndpoint({ ...worker, ...extra });

/** The first marking of dispatched entries is lost, as when the process dies just before it. */
function loseFirstMarking(t: TestEndpoint): void {
  const mark = t.sagaStore.markDispatched.bind(t.sagaStore);
  let lost = false;
  t.sagaStore.markDispatched = async (...args) => {
    if (!lost) return void (lost = true);
    return mark(...args);
  };
}

/**
 * Another worker process on the same queue and stores, which never saw the first one's dispatches.
 * Stops the first, so the broker's redeliveries go to this one.
 */
async function failOver(t: TestEndpoint, outbox: EndpointOptions['outbox']): Promise<Endpoint> {
  await t.endpoint.stop();
  const other = new Endpoint({
    name: 'unit',
    transport: t.transport,
    sagaStore: t.sagaStore,
    timeoutStore: t.timeoutStore,
    clock: t.clock,
    ...worker,
    logger: silentLogger,
    timeouts: { pollInterval: Infinity },
    outbox,
  });
  await other.start();
  return other;
}

/** Wraps the endpoint's timeout store's `schedule` (the endpoint holds this very instance). */
function aroundSchedule(
  t: TestEndpoint,
  around: (schedule: () => Promise<void>, timeout: TimeoutRecord) => Promise<void>,
): void {
  const schedule = t.timeoutStore.schedule.bind(t.timeoutStore);
  t.timeoutStore.schedule = (timeout) => around(() => schedule(timeout), timeout);
}

describe('the outbox', () => {
  it('stores a commit’s timeouts before sending its messages: a fast answer cancels the deadline, none is left stored', async () => {
    const t = await start();
    const order: string[] = [];
    aroundSchedule(t, async (schedule) => {
      await new Promise((resolve) => setTimeout(resolve, 30)); // a store under load
      await schedule();
      order.push('timeout stored');
    });
    const send = t.transport.send.bind(t.transport);
    t.transport.send = async (message, destination) => {
      if (message.headers['longhaul.type'] === 'ob.Charge') order.push('charge sent');
      return send(message, destination);
    };

    await t.deliver(new Placed('o-1'));
    await new Promise((resolve) => setTimeout(resolve, 60));
    await t.idle();

    expect(order).toEqual(['timeout stored', 'charge sent']);
    expect((await t.sagaStore.findByCorrelation('ob.Payment', 'o-1'))?.status).toBe('completed');
    expect(await t.timeoutStore.nextDueAt()).toBeUndefined(); // cancelled, not left for 15 minutes
  });

  it('a timeout write that fails sends none of the commit’s messages; the retry after the backoff sends them once', async () => {
    const t = await start({ outbox: { sweepInterval: Infinity, retryDelay: '1s' } });
    let failures = 1;
    aroundSchedule(t, async (schedule) => {
      if (failures-- > 0) throw new Error('store unavailable');
      await schedule();
    });

    await t.deliver(new Placed('o-2'));
    await t.idle();
    expect(emitted(t.transport, 'ob.Charge')).toHaveLength(0);
    const pending = (await t.sagaStore.findByCorrelation('ob.Payment', 'o-2'))?.outbox ?? [];
    expect(pending.map((e) => [e.operation, e.attempts, e.lastError])).toEqual([
      ['send', 1, 'Error: store unavailable'],
      ['schedule', 1, 'Error: store unavailable'],
    ]);
    expect(await t.endpoint.sweepOutbox()).toBe(0); // backing off
    await t.clock.advance('1s');
    expect(await t.endpoint.sweepOutbox()).toBe(2);
    await t.idle();

    expect(emitted(t.transport, 'ob.Charge')).toHaveLength(1);
    expect(emitted(t.transport, 'ob.Charged')).toHaveLength(1);
    expect((await t.sagaStore.findByCorrelation('ob.Payment', 'o-2'))?.status).toBe('completed');
    expect(await t.timeoutStore.nextDueAt()).toBeUndefined();
    expect(t.transport.errors('unit')).toHaveLength(0);
  });

  it('a redelivery of the starting message after the answer does not bring back the cancelled timeout', async () => {
    const t = await start();
    loseFirstMarking(t);
    const placed = await t.deliver(new Placed('o-3'));
    // The answer came back and cancelled the timeout; the entries of the first commit are still pending.
    const done = await t.sagaStore.findByCorrelation('ob.Payment', 'o-3');
    expect(done?.status).toBe('completed');
    expect(done?.outbox.map((e) => e.operation).sort()).toEqual(['schedule', 'send']);
    expect(await t.timeoutStore.nextDueAt()).toBeUndefined();

    await failOver(t, { sweepInterval: Infinity });
    await t.deliverWire(placed); // a duplicate while the first worker's claim holds: it leaves them alone
    expect((await t.sagaStore.findByCorrelation('ob.Payment', 'o-3'))?.outbox).toHaveLength(2);
    await t.clock.advance('31s'); // past the claim's lease (the first worker died before marking)
    await t.deliverWire(placed); // redelivered to the other worker: a duplicate, which takes the pending entries
    await t.idle();

    expect(await t.timeoutStore.nextDueAt()).toBeUndefined();
    expect((await t.sagaStore.findByCorrelation('ob.Payment', 'o-3'))?.outbox).toEqual([]);
  });

  it('the sweeper does not store a timeout cancelled after its entry was left pending', async () => {
    const t = await start({ outbox: { sweepInterval: Infinity, lease: '30s' } });
    loseFirstMarking(t);
    await t.deliver(new Placed('o-4'));
    expect((await t.sagaStore.findByCorrelation('ob.Payment', 'o-4'))?.status).toBe('completed');

    const other = await failOver(t, { sweepInterval: Infinity, lease: '30s' });
    await t.clock.advance('31s');
    const swept = await other.sweepOutbox();
    await t.idle();

    expect(await t.timeoutStore.nextDueAt()).toBeUndefined();
    expect(swept).toBe(1); // the Charge again (its handler must be idempotent), not the timeout
    expect((await t.sagaStore.findByCorrelation('ob.Payment', 'o-4'))?.outbox).toEqual([]);
  });
});
