/**
 * The saga, handler and workflows the telemetry tests trace, in memory and across two worker
 * processes: an order whose payment handler fails twice (an immediate, then a delayed retry), a
 * timeout that completes the saga, and a workflow running an activity and a child workflow.
 */
import {
  activity,
  Command,
  Event,
  type Handler,
  type HandlerContext,
  HandlerFor,
  Handles,
  Message,
  OnTimeout,
  Saga,
  type SagaContext,
  StartedBy,
  Workflow,
  type WorkflowContext,
} from '../../src/index.js';

@Event('ot.OrderPlaced')
export class OrderPlaced {
  constructor(
    readonly orderId: string,
    /** When the order closes after its payment. */
    readonly closeAfter: string = '1h',
  ) {}
}
@Command('ot.ChargeCard')
export class ChargeCard {
  constructor(readonly orderId: string) {}
}
@Event('ot.CardCharged')
export class CardCharged {
  constructor(readonly orderId: string) {}
}
@Message('ot.ShipDeadline')
export class ShipDeadline {
  constructor(readonly orderId: string) {}
}
@Event('ot.OrderClosed')
export class OrderClosed {
  constructor(readonly orderId: string) {}
}

interface OrderState {
  charged: boolean;
  closeAfter: string;
}

@Saga('ot.Order')
export class OrderSaga {
  @StartedBy(OrderPlaced, { correlateBy: (m) => m.orderId })
  async placed(m: OrderPlaced, ctx: SagaContext<OrderState>): Promise<void> {
    ctx.state = { charged: false, closeAfter: m.closeAfter };
    await ctx.send(new ChargeCard(m.orderId));
  }

  @Handles(CardCharged, { correlateBy: (m) => m.orderId })
  async charged(m: CardCharged, ctx: SagaContext<OrderState>): Promise<void> {
    ctx.state.charged = true;
    await ctx.requestTimeout(new ShipDeadline(m.orderId), { after: ctx.state.closeAfter });
  }

  @OnTimeout(ShipDeadline)
  async deadline(m: ShipDeadline, ctx: SagaContext<OrderState>): Promise<void> {
    await ctx.publish(new OrderClosed(m.orderId));
    ctx.complete();
  }
}

/**
 * Fails both attempts of a message's first delivery (the attempt and its immediate retry), so it
 * comes back as a delayed retry, which succeeds: the same in any process that gets it.
 */
@HandlerFor(ChargeCard)
export class Payments implements Handler<ChargeCard> {
  async handle(m: ChargeCard, ctx: HandlerContext): Promise<void> {
    if (ctx.envelope.headers['longhaul.delayed-retries'] === undefined)
      throw new Error(`card service unavailable for ${m.orderId}`);
    await ctx.publish(new CardCharged(m.orderId));
  }
}

export const lookUp = activity('ot.LookUp', (id: string) => `found ${id}`);

@Workflow('ot.Child')
export class ChildFlow {
  async run(ctx: WorkflowContext, input: string): Promise<string> {
    return ctx.activity(lookUp, `${input}/child`);
  }
}

@Workflow('ot.Parent')
export class ParentFlow {
  async run(ctx: WorkflowContext, input: string): Promise<string[]> {
    const own = await ctx.activity(lookUp, input);
    const child = await ctx.child(ChildFlow, input);
    return [own, child];
  }
}
