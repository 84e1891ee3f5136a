/**
 * The `--console` part of `npm run demo`: one more order left open, one message in the error
 * queue, and the operations console over the demo's in-memory stores until Ctrl-C.
 */
import { randomUUID } from 'node:crypto';
import { startConsole, storeHealth } from '../src/console/index.js';
import {
  type Bus,
  type Endpoint,
  Headers,
  type InMemoryTransport,
  inMemoryErrorQueueAccess,
  OperationsClient,
  type VirtualClock,
} from '../src/index.js';
import { OrderPlaced } from './order-fulfilment/messages.js';

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
