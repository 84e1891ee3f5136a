/**
 * What the console's browser tests look at: a parcel saga with a customer label, a pending
 * timeout, and a handler that fails (straight to the error queue) while the warehouse is
 * offline; and a refund workflow whose code can be switched so that it parks.
 */
import {
  activity,
  Event,
  Handles,
  NonRetryableError,
  OnTimeout,
  Saga,
  type SagaContext,
  StartedBy,
  Workflow,
  type WorkflowContext,
} from '../../src/index.js';

@Event('console.ParcelRequested')
export class ParcelRequested {
  constructor(
    readonly parcelId: string,
    readonly customer: string,
  ) {}
}

@Event('console.ParcelPicked')
export class ParcelPicked {
  constructor(readonly parcelId: string) {}
}

@Event('console.ParcelOverdue')
export class ParcelOverdue {
  constructor(readonly parcelId: string) {}
}

/** While false, picking a parcel fails for good (the message goes to the error queue). */
export const warehouse = { online: false };

export interface ParcelState {
  customer: string;
  picked?: boolean;
}

@Saga('console.Parcel')
export class ParcelSaga {
  @StartedBy(ParcelRequested, { correlateBy: (m) => m.parcelId })
  async requested(msg: ParcelRequested, ctx: SagaContext<ParcelState>): Promise<void> {
    ctx.state = { customer: msg.customer };
    ctx.setLabels({ customer: msg.customer });
    await ctx.requestTimeout(new ParcelOverdue(msg.parcelId), { after: '1h' });
  }

  @Handles(ParcelPicked, { correlateBy: (m) => m.parcelId })
  async picked(_msg: ParcelPicked, ctx: SagaContext<ParcelState>): Promise<void> {
    if (!warehouse.online) throw new NonRetryableError('warehouse system offline');
    ctx.state.picked = true;
    ctx.complete();
  }

  @OnTimeout(ParcelOverdue)
  async overdue(_msg: ParcelOverdue, ctx: SagaContext<ParcelState>): Promise<void> {
    ctx.complete();
  }
}

@Event('console.RefundApproved')
export class RefundApproved {
  constructor(readonly by: string) {}
}

export const lookUpOrder = activity('console.LookUpOrder', (orderId: string) => ({ orderId, total: 42 }));

/** Which code runs: `v2` asks for a timer where `v1` recorded an activity (so a v1 instance parks). */
export const refundCode: { version: 'v1' | 'v2' } = { version: 'v1' };

@Workflow('console.Refund')
export class RefundFlow {
  async run(ctx: WorkflowContext, input: { orderId: string }): Promise<string> {
    if (refundCode.version === 'v1') await ctx.activity(lookUpOrder, input.orderId);
    else await ctx.sleep('1m');
    const approval = await ctx.waitForEvent(RefundApproved);
    return `refunded ${input.orderId}, approved by ${approval?.by ?? 'nobody'}`;
  }
}
