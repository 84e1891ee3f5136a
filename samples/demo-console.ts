/**
 * The `--console` part of `npm run demo`: one more order left open, a gift-card workflow waiting
 * for a signal, one message in the error queue, and the operations console over the demo's
 * in-memory stores until Ctrl-C.
 */
import { randomUUID } from 'node:crypto';
import { startConsole, storeHealth } from '../src/console/index.js';
import {
  activity,
  type Bus,
  type Endpoint,
  type EndpointOptions,
  Event,
  Headers,
  type InMemoryTransport,
  inMemoryErrorQueueAccess,
  OperationsClient,
  type VirtualClock,
  Workflow,
  type WorkflowContext,
} from '../src/index.js';
import { OrderPlaced } from './order-fulfilment/messages.js';

/** The customer claims the gift card: the workflow waits for this event. */
@Event('demo.GiftCardClaimed')
export class GiftCardClaimed {
  constructor(readonly by: string) {}
}

const issueGiftCard = activity('demo.issue-gift-card', (order: { orderId: string; amount: number }) => ({
  code: `GC-${order.orderId.toUpperCase()}`,
  amount: order.amount,
}));

/** A small workflow to click through: issues a gift card, then waits until it is claimed. */
@Workflow('demo.GiftCard')
export class GiftCardFlow {
  async run(
    ctx: WorkflowContext,
    order: { orderId: string; customer: string; amount: number },
  ): Promise<string> {
    ctx.setLabels({ customer: order.customer });
    const card = await ctx.activity(issueGiftCard, order);
    const claim = await ctx.waitForEvent(GiftCardClaimed);
    return `${card.code} (${card.amount}) claimed by ${claim?.by ?? 'nobody'}`;
  }
}

/** What `--console` adds to the demo's endpoint: the gift-card workflow and its activity. */
export const demoConsoleWiring: Pick<EndpointOptions, 'workflows' | 'activities'> = {
  workflows: [GiftCardFlow],
  activities: [issueGiftCard],
};

/** What the demo hands over. */
export interface DemoConsoleParts {
  readonly endpoint: Endpoint;
  readonly transport: InMemoryTransport;
  readonly clock: VirtualClock;
  readonly bus: Bus;
  /** Waits until the in-memory transport has delivered everything. */
  readonly settle: () => Promise<void>;
  /** The command line (for `--port <n>`). */
  readonly argv: readonly string[];
}

function portOf(argv: readonly string[]): number {
  const at = argv.indexOf('--port');
  if (at < 0) return 8240;
  const port = Number(argv[at + 1]);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`--port must be an integer from 0 to 65535, got '${argv[at + 1] ?? ''}'`);
  }
  return port;
}

/** Serves the console until SIGINT or SIGTERM. */
export async function openDemoConsole(parts: DemoConsoleParts): Promise<void> {
  const { endpoint, transport, clock, bus, settle } = parts;
  console.log('\n— Order slow-3: placed, its payment never arrives (open it in the console)');
  await bus.publish(new OrderPlaced('slow-3', 7));
  await settle();
  console.log(
    "— Workflow gift-o-1: issues a gift card, then waits for 'demo.GiftCardClaimed' (signal it from the console)",
  );
  await endpoint.workflows.start(
    GiftCardFlow,
    { orderId: 'o-1', customer: 'ada', amount: 10 },
    { id: 'gift-o-1' },
  );
  await settle();
  console.log('— A message of a type no endpoint knows: it goes to the error queue');
  await transport.send(
    {
      messageId: randomUUID(),
      headers: { [Headers.type]: 'shop.GiftWrapRequested', [Headers.sentAt]: clock.now().toISOString() },
      body: Buffer.from(JSON.stringify({ orderId: 'o-1', paper: 'stars' })),
    },
    'shop',
  );
  await settle();
  const operations = new OperationsClient({
    store: endpoint.sagaStore,
    workflows: endpoint.workflows,
    timeouts: endpoint.timeoutStore,
    errorQueues: inMemoryErrorQueueAccess(transport),
    now: () => clock.now(),
  });
  const server = await startConsole({
    operations,
    endpoints: ['shop'],
    health: storeHealth({ sagas: endpoint.sagaStore, timeouts: endpoint.timeoutStore }),
    port: portOf(parts.argv),
    clock,
    title: 'Longhaul demo console',
  });
  console.log(`\nConsole: ${server.url} (in-memory stores, virtual clock; Ctrl-C stops it)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await server.close();
}
