/**
 * The order in which a commit's outbox is carried out: its timeouts are stored before its messages
 * go out, so nothing the messages cause can overtake them.
 */
import { describe, expect, it } from 'vitest';
import {
  Command,
  Event,
  type Handler,
  type HandlerContext,
  HandlerFor,
  Handles,
  OnTimeout,
  Saga,
  type SagaContext,
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

const start = (extra: Parameters<typeof startEndpoint>[0] = {}): Promise<TestEndpoint> =>
  startEndpoint({
    sagas: [PaymentSaga],
    handlers: [PaymentService],
    routes: { 'ob.Charge': 'unit' },
    ...extra,
  });

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
    const publish = t.transport.send.bind(t.transport);
    t.transport.send = async (message, destination) => {
      if (message.headers['longhaul.type'] === 'ob.Charge') order.push('charge sent');
      return publish(message, destination);
    };

    await t.deliver(new Placed('o-1'));
    await new Promise((resolve) => setTimeout(resolve, 60));
    await t.idle();

    expect(order).toEqual(['timeout stored', 'charge sent']);
    expect((await t.sagaStore.findByCorrelation('ob.Payment', 'o-1'))?.status).toBe('completed');
    expect(await t.timeoutStore.nextDueAt()).toBeUndefined(); // cancelled, not left for 15 minutes
  });

  it('a timeout write that fails sends none of the commit’s messages; the retry sends them once', async () => {
    const t = await start({ recoverability: { immediateRetries: 1, delays: [] } });
    let failures = 1;
    aroundSchedule(t, async (schedule) => {
      if (failures-- > 0) throw new Error('store unavailable');
      await schedule();
    });

    await t.deliver(new Placed('o-2'));
    await t.idle();

    expect(emitted(t.transport, 'ob.Charge')).toHaveLength(1);
    expect(emitted(t.transport, 'ob.Charged')).toHaveLength(1);
    expect((await t.sagaStore.findByCorrelation('ob.Payment', 'o-2'))?.status).toBe('completed');
    expect(await t.timeoutStore.nextDueAt()).toBeUndefined();
    expect(t.transport.errors('unit')).toHaveLength(0);
  });
});
