/**
 * Sagas, workflows and an endpoint for the operations client tests: one endpoint on the in-memory
 * transport over the saga and timeout stores a suite gives (in memory, or FerretDB).
 */
import {
  Command,
  Endpoint,
  Event,
  type Handler,
  HandlerFor,
  Handles,
  InMemoryTransport,
  inMemoryErrorQueueAccess,
  OnTimeout,
  OperationsClient,
  Saga,
  type SagaContext,
  type SagaStore,
  silentLogger,
  StartedBy,
  type TimeoutStore,
  Workflow,
  type WorkflowContext,
} from '../../src/index.js';
import { untilQuiet } from '../support/endpoint.js';

@Command('ops.OrderPlaced')
export class OrderPlaced {
  constructor(
    readonly orderId: string,
    readonly customer: string,
    readonly total: number,
  ) {}
}

@Command('ops.OrderPaid')
export class OrderPaid {
  constructor(readonly orderId: string) {}
}

@Command('ops.PaymentOverdue')
export class PaymentOverdue {
  constructor(readonly orderId: string) {}
}

export interface OrderState {
  total: number;
  paid?: boolean;
  overdue?: boolean;
}

@Saga('ops.Order')
export class OrderSaga {
  @StartedBy(OrderPlaced, { correlateBy: (m) => m.orderId })
  async placed(message: OrderPlaced, ctx: SagaContext<OrderState>): Promise<void> {
    ctx.state.total = message.total;
    ctx.setLabels({ customer: message.customer, tier: message.total > 100 ? 'gold' : 'basic' });
    await ctx.requestTimeout(new PaymentOverdue(message.orderId), { after: '1d' });
  }

  @Handles(OrderPaid, { correlateBy: (m) => m.orderId })
  paid(_message: OrderPaid, ctx: SagaContext<OrderState>): void {
    ctx.state.paid = true;
    ctx.setLabels({ tier: null });
  }

  @OnTimeout(PaymentOverdue)
  overdue(_message: PaymentOverdue, ctx: SagaContext<OrderState>): void {
    ctx.state.overdue = true;
  }
}

@Event('ops.Approved')
export class Approved {
  constructor(readonly by: string) {}
}

@Workflow('ops.Approval')
export class Approval {
  async run(ctx: WorkflowContext, input: { customer: string }): Promise<string> {
    ctx.setLabels({ customer: input.customer });
    const approved = await ctx.waitForEvent(Approved, { timeout: '7d' });
    ctx.setLabels({ outcome: approved ? 'approved' : 'expired' });
    return approved ? `approved by ${approved.by}` : 'expired';
  }
}

@Command('ops.Import')
export class Import {
  constructor(readonly file: string) {}
}

export const importer = { failing: true, handled: [] as string[] };

@HandlerFor(Import)
export class Importer implements Handler<Import> {
  handle(message: Import): void {
    if (importer.failing) throw new Error(`cannot read ${message.file}`);
    importer.handled.push(message.file);
  }
}

export interface OpsBed {
  readonly endpoint: Endpoint;
  readonly transport: InMemoryTransport;
  readonly store: SagaStore;
  readonly timeouts: TimeoutStore;
  readonly ops: OperationsClient;
  /** Sends a message to the endpoint and waits until everything it caused is handled. */
  deliver(message: object): Promise<void>;
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts an endpoint named `name` over the given stores, with an operations client over it. */
export async function startBed(name: string, store: SagaStore, timeouts: TimeoutStore): Promise<OpsBed> {
  const transport = new InMemoryTransport();
  const endpoint = new Endpoint({
    name,
    transport,
    sagaStore: store,
    timeoutStore: timeouts,
    sagas: [OrderSaga],
    handlers: [Importer],
    workflows: [Approval],
    logger: silentLogger,
    timeouts: { pollInterval: '50ms' },
    outbox: { sweepInterval: '50ms' },
    recoverability: { immediateRetries: 0, delays: [] },
  });
  await endpoint.start();
  const ops = new OperationsClient({
    store,
    timeouts,
    workflows: endpoint.workflows,
    errorQueues: inMemoryErrorQueueAccess(transport),
  });
  const idle = (): Promise<void> => untilQuiet(transport);
  return {
    endpoint,
    transport,
    store,
    timeouts,
    ops,
    idle,
    async deliver(message) {
      await endpoint.bus.send(message, { to: name });
      await idle();
    },
    async stop() {
      await endpoint.stop();
    },
  };
}

/** Polls `check` until true (up to 10 s); throws naming `what` otherwise. */
export async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
