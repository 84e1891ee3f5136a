/**
 * RabbitMQ rows: the same workload through amqplib alone and through the RabbitMqTransport, to
 * show what the transport costs. Per message: consume it, publish one follow-up message with a
 * publisher confirm, then ack, with prefetch = concurrency. `n` messages are loaded into the input
 * queue first (not timed); the clock runs from the first consume to the n-th ack. Each run uses
 * its own queues and deletes them; a run in which a message or a follow-up went missing is invalid.
 */
import { randomUUID } from 'node:crypto';
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { RabbitMqTransport } from '../../src/bus/rabbitmq/index.js';
import { type Disposition, Headers, silentLogger, type WireMessage } from '../../src/index.js';
import { type BenchOptions, type BenchRow, percentile, type Sample } from '../lib.js';

const URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
/** How long a run may take before it is called off as invalid. */
const RUN_LIMIT_MS = 120_000;

/** The input message number `n`, shaped like a Longhaul envelope. */
function input(n: number): WireMessage {
  const id = randomUUID();
  return {
    messageId: id,
    headers: {
      [Headers.type]: 'bench.Work',
      [Headers.correlationId]: id,
      [Headers.conversationId]: id,
      [Headers.sentAt]: new Date().toISOString(),
    },
    body: Buffer.from(JSON.stringify({ n, payload: 'x'.repeat(64) })),
  };
}

/** The follow-up of an input message: a deterministic id, the incoming one as causation. */
function followUp(message: WireMessage): WireMessage {
  return {
    messageId: `${message.messageId}:next`,
    headers: { ...message.headers, [Headers.type]: 'bench.Worked', [Headers.causationId]: message.messageId },
    body: message.body,
  };
}

const publishOptions = (message: WireMessage) => ({
  persistent: true,
  messageId: message.messageId,
  contentType: 'application/json',
  headers: message.headers,
});

/** Counts distinct ids seen and when the `n`-th distinct one arrived. */
class Tally {
  readonly ids = new Set<string>();
  readonly latencies: number[] = [];
  duplicates = 0;
  private done: () => void = () => undefined;
  readonly finished: Promise<void>;

  constructor(private readonly n: number) {
    this.finished = new Promise((resolve) => (this.done = resolve));
  }

  record(id: string, startedAt: number): void {
    if (this.ids.has(id)) this.duplicates++;
    else this.ids.add(id);
    this.latencies.push(performance.now() - startedAt);
    if (this.ids.size === this.n) this.done();
  }
}

/** Resolves with false if `promise` did not settle within `ms`. */
async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), limit]);
  } finally {
    clearTimeout(timer);
  }
}

async function preload(
  connection: ChannelModel,
  queue: string,
  messages: readonly WireMessage[],
): Promise<void> {
  const channel = await connection.createConfirmChannel();
  for (const message of messages) {
    if (!channel.sendToQueue(queue, message.body, publishOptions(message))) {
      await new Promise((resolve) => channel.once('drain', resolve));
    }
  }
  await channel.waitForConfirms();
  await channel.close();
}

/** Distinct message ids in `queue` (which must hold `expected` messages), taking them out. */
async function drainIds(connection: ChannelModel, queue: string, expected: number): Promise<Set<string>> {
  const channel = await connection.createChannel();
  await channel.prefetch(1000);
  const ids = new Set<string>();
  let seen = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (done = resolve));
  await channel.consume(queue, (message) => {
    if (!message) return;
    ids.add(String(message.properties.messageId));
    channel.ack(message);
    if (++seen >= expected) done();
  });
  if (expected > 0) await within(all, 15_000);
  await channel.close();
  return ids;
}

function sample(options: BenchOptions, elapsedMs: number, handled: Tally, outIds: Set<string>): Sample {
  const lost = options.n - handled.ids.size;
  const lostFollowUps = options.n - outIds.size;
  const invalid =
    lost > 0 || lostFollowUps > 0
      ? `lost ${Math.max(lost, 0)} input message(s) and ${Math.max(lostFollowUps, 0)} follow-up(s)`
      : undefined;
  return {
    messagesPerSecond: (handled.ids.size / elapsedMs) * 1000,
    p50Ms: percentile(handled.latencies, 50),
    p99Ms: percentile(handled.latencies, 99),
    extra: {
      n: options.n,
      prefetch: options.concurrency,
      queueType: options.queueType,
      redelivered: handled.duplicates,
    },
    ...(invalid ? { invalid } : {}),
  };
}

export async function runRaw(options: BenchOptions): Promise<Sample> {
  const prefix = `bench-raw-${randomUUID().slice(0, 8)}.`;
  const inQueue = `${prefix}in`;
  const outQueue = `${prefix}out`;
  const connection = await amqp.connect(URL, { noDelay: true });
  const args = options.queueType === 'quorum' ? { 'x-queue-type': 'quorum' } : {};
  try {
    const admin = await connection.createChannel();
    await admin.assertQueue(inQueue, { durable: true, arguments: args });
    await admin.assertQueue(outQueue, { durable: true, arguments: args });
    await preload(
      connection,
      inQueue,
      Array.from({ length: options.n }, (_, n) => input(n)),
    );

    const handled = new Tally(options.n);
    const consumer: Channel = await connection.createChannel();
    const publisher = await connection.createConfirmChannel();
    await consumer.prefetch(options.concurrency);
    const onMessage = (message: ConsumeMessage | null): void => {
      if (!message) return;
      const startedAt = performance.now();
      const incoming: WireMessage = {
        messageId: String(message.properties.messageId),
        headers: message.properties.headers as Record<string, string>,
        body: message.content,
      };
      const next = followUp(incoming);
      publisher.sendToQueue(outQueue, next.body, publishOptions(next), (error: unknown) => {
        if (error) {
          consumer.nack(message, false, true);
          return;
        }
        consumer.ack(message);
        handled.record(incoming.messageId, startedAt);
      });
    };
    const started = performance.now();
    await consumer.consume(inQueue, onMessage, { noAck: false });
    await within(handled.finished, RUN_LIMIT_MS);
    const elapsed = performance.now() - started;
    await consumer.close();
    await publisher.close();
    const outIds = await drainIds(connection, outQueue, options.n);
    await admin.deleteQueue(inQueue);
    await admin.deleteQueue(outQueue);
    return sample(options, elapsed, handled, outIds);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

export async function runTransport(options: BenchOptions): Promise<Sample> {
  const transport = new RabbitMqTransport({
    url: URL,
    prefix: `bench-lh-${randomUUID().slice(0, 8)}.`,
    queueType: options.queueType,
    prefetch: options.concurrency,
    logger: silentLogger,
  });
  const connection = await amqp.connect(URL, { noDelay: true });
  try {
    await transport.declareEndpoint({ name: 'in', subscriptions: [] });
    await transport.declareEndpoint({ name: 'out', subscriptions: [] });
    await preload(
      connection,
      transport.names.queue('in'),
      Array.from({ length: options.n }, (_, n) => input(n)),
    );

    const handled = new Tally(options.n);
    const ack: Disposition = { kind: 'ack' };
    const started = performance.now();
    const consumer = await transport.consume(
      'in',
      async ({ message }) => {
        const startedAt = performance.now();
        await transport.send(followUp(message), 'out');
        handled.record(message.messageId, startedAt);
        return ack;
      },
      { concurrency: options.concurrency },
    );
    await within(handled.finished, RUN_LIMIT_MS);
    const elapsed = performance.now() - started;
    await consumer.stop();
    const outIds = await drainIds(connection, transport.names.queue('out'), options.n);
    await transport.deleteDeclaredTopology();
    return sample(options, elapsed, handled, outIds);
  } finally {
    await transport.close();
    await connection.close().catch(() => undefined);
  }
}

/**
 * The transport-only row (the raw broker rows of workload S are in `saga.ts`): the raw workload
 * through the RabbitMqTransport, to show what the transport alone costs.
 */
export function rabbitRows(options: BenchOptions): BenchRow[] {
  return [
    {
      name: 'rabbitmq/longhaul-transport',
      description: `RabbitMqTransport alone, ${options.queueType}: consume, send one follow-up (confirmed), ack by disposition`,
      run: () => runTransport(options),
    },
  ];
}
