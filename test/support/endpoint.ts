/** Builds endpoints on the in-memory adapters and a virtual clock for unit tests. */
import { randomUUID } from 'node:crypto';
import {
  Endpoint,
  type EndpointOptions,
  type Envelope,
  type HandledMessage,
  InMemorySagaStore,
  InMemoryTimeoutStore,
  InMemoryTransport,
  MessageCodec,
  messageTypeOf,
  silentLogger,
  type Transport,
  VirtualClock,
  type WireMessage,
} from '../../src/index.js';

export interface TestEndpoint {
  endpoint: Endpoint;
  transport: InMemoryTransport;
  sagaStore: InMemorySagaStore;
  timeoutStore: InMemoryTimeoutStore;
  clock: VirtualClock;
  handled: HandledMessage[];
  /** Sends `body` to the endpoint as a new message (or with the given id, to simulate a redelivery). */
  deliver(body: object, options?: { id?: string; headers?: Record<string, string> }): Promise<WireMessage>;
  /** Sends a raw wire message to the endpoint. */
  deliverWire(message: WireMessage): Promise<void>;
  /** Waits until nothing is queued or in flight. */
  idle(): Promise<void>;
}

export const codec = new MessageCodec();

/** Waits until the in-memory transport stays idle for three turns in a row (nothing new logged). */
export async function untilQuiet(transport: InMemoryTransport): Promise<void> {
  for (let quiet = 0; quiet < 3;) {
    const before = transport.log.length;
    await transport.whenIdle();
    await new Promise((resolve) => setImmediate(resolve));
    quiet = transport.log.length === before ? quiet + 1 : 0;
  }
}

export function envelopeFor(
  body: object,
  id: string = randomUUID(),
  headers: Record<string, string> = {},
): Envelope {
  return {
    id,
    type: messageTypeOf(body.constructor as new () => object).name,
    correlationId: id,
    conversationId: id,
    sentAt: new Date('2026-01-01T00:00:00Z'),
    headers,
    body,
  };
}

export async function startEndpoint(
  options: Partial<EndpointOptions> & { wrap?: (t: InMemoryTransport) => Transport } = {},
): Promise<TestEndpoint> {
  const clock = new VirtualClock();
  const transport = new InMemoryTransport(clock);
  const sagaStore = new InMemorySagaStore();
  const timeoutStore = new InMemoryTimeoutStore();
  const handled: HandledMessage[] = [];
  const name = options.name ?? 'unit';
  const endpoint = new Endpoint({
    logger: silentLogger,
    timeouts: { pollInterval: Infinity },
    outbox: { sweepInterval: Infinity },
    ...options,
    name,
    transport: options.wrap ? options.wrap(transport) : transport,
    sagaStore,
    timeoutStore,
    clock,
    onHandled: (h) => handled.push(h),
  });
  for (const destination of new Set(Object.values(options.routes ?? {}))) {
    await transport.declareEndpoint({ name: destination, subscriptions: [] });
  }
  await endpoint.start();
  const idle = (): Promise<void> => untilQuiet(transport);
  return {
    endpoint,
    transport,
    sagaStore,
    timeoutStore,
    clock,
    handled,
    idle,
    async deliver(body, { id, headers } = {}) {
      const wire = codec.encode(envelopeFor(body, id, headers));
      await transport.send(wire, name);
      await idle();
      return wire;
    },
    async deliverWire(message) {
      await transport.send(message, name);
      await idle();
    },
  };
}

/** Bodies of the messages of `type` the transport accepted (publish or send), decoded. */
export function emitted(
  transport: InMemoryTransport,
  type: string,
): { id: string; body: unknown; destination: string[] }[] {
  return transport.log
    .filter(
      (r) =>
        (r.operation === 'publish' || r.operation === 'send') && r.message.headers['longhaul.type'] === type,
    )
    .map((r) => ({
      id: r.message.messageId,
      body: JSON.parse(r.message.body.toString()),
      destination: [...r.endpoints],
    }));
}
