/** Shared plumbing of the RabbitMQ integration tests: a prefix per test, cleanup, polling, chaos. */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { Endpoint, type EndpointOptions, silentLogger } from '../../../src/index.js';
import { RabbitMqTransport, type RabbitMqTransportOptions } from '../../../src/bus/rabbitmq/index.js';

export const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

const run = promisify(execFile);

/** Resolves when `predicate` holds, polling every 20 ms; rejects after `ms`. */
export async function eventually(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  ms = 15_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Transports and endpoints of one test, with a prefix of its own. `dispose()` stops the endpoints,
 * deletes the exchange and queues the transports declared and closes them.
 */
export class TestBed {
  readonly prefix = `lh-it-${randomUUID().slice(0, 8)}.`;
  readonly connectionName = `longhaul-test-${randomUUID()}`;
  private readonly transports: RabbitMqTransport[] = [];
  private readonly endpoints: Endpoint[] = [];

  transport(options: RabbitMqTransportOptions = {}): RabbitMqTransport {
    const transport = new RabbitMqTransport({
      url,
      prefix: this.prefix,
      logger: silentLogger,
      connectionName: this.connectionName,
      reconnect: { initialDelay: '50ms', maxDelay: '1s' },
      ...options,
    });
    this.transports.push(transport);
    return transport;
  }

  /** An endpoint on `transport` with in-memory stores, fast retries and no background polling. */
  endpoint(transport: RabbitMqTransport, options: Partial<EndpointOptions> & { name: string }): Endpoint {
    const endpoint = new Endpoint({
      logger: silentLogger,
      transport,
      recoverability: { immediateRetries: 0, delays: ['200ms', '400ms'] },
      timeouts: { pollInterval: Infinity },
      outbox: { sweepInterval: Infinity },
      ...options,
    });
    this.endpoints.push(endpoint);
    return endpoint;
  }

  /** The queue name of an endpoint. */
  queue(endpoint: string): string {
    return `${this.prefix}${endpoint}`;
  }

  async dispose(): Promise<void> {
    for (const endpoint of this.endpoints.splice(0)) await endpoint.stop();
    const queues = new Set<string>();
    const exchanges = new Set<string>();
    for (const transport of this.transports.splice(0)) {
      const declared = transport.declaredTopology();
      for (const queue of declared.queues) queues.add(queue);
      for (const exchange of declared.exchanges) exchanges.add(exchange);
      if (declared.exchange !== undefined) exchanges.add(declared.exchange);
      await transport.close();
    }
    if (queues.size + exchanges.size === 0) return;
    await rawChannel(async (channel) => {
      for (const queue of queues) await channel.deleteQueue(queue);
      for (const exchange of exchanges) await channel.deleteExchange(exchange);
    });
  }
}

/** Opens a plain amqplib connection for what a test does behind the transport's back. */
export async function rawChannel<T>(work: (channel: amqp.ConfirmChannel) => Promise<T>): Promise<T> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    return await work(channel);
  } finally {
    await connection.close();
  }
}

/** Whether a queue exists, asked on a fresh channel (a missing queue closes it with 404). */
export async function queueExists(name: string): Promise<boolean> {
  const connection = await amqp.connect(url);
  connection.on('error', () => {});
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => {}); // the 404 closes the channel: expected here
    await channel.checkQueue(name);
    return true;
  } catch (error) {
    if (/404|NOT_FOUND/.test((error as Error).message)) return false;
    throw error;
  } finally {
    await connection.close();
  }
}

/** Messages sitting in a queue (ready, not unacknowledged). */
export async function queueDepth(queue: string): Promise<number> {
  return rawChannel(async (channel) => (await channel.checkQueue(queue)).messageCount);
}

async function hasRabbitmqctl(): Promise<boolean> {
  try {
    await run('rabbitmqctl', ['--version'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Breaks the transport's connection. `broker`: the broker closes every connection named
 * `connectionName` (`rabbitmqctl close_connection`, as an operator or a node shutdown would:
 * `CONNECTION_FORCED`); without `rabbitmqctl` (a broker in a container) it falls back to `socket`.
 * `socket`: the transport's TCP socket is destroyed, as a network failure would. Resolves with
 * the number of connections broken.
 */
export async function dropConnections(
  connectionName: string,
  transport: RabbitMqTransport,
  how: 'broker' | 'socket' = 'broker',
): Promise<number> {
  if (how === 'broker' && (await hasRabbitmqctl())) {
    const { stdout } = await run(
      'rabbitmqctl',
      ['list_connections', 'pid', 'client_properties', '-q', '--no-table-headers'],
      { timeout: 30_000 },
    );
    const mine = stdout
      .split('\n')
      .filter((line) => line.includes(`"${connectionName}"`))
      .map((line) => line.split('\t')[0] as string);
    for (const pid of mine) {
      await run('rabbitmqctl', ['close_connection', pid, 'longhaul integration test'], { timeout: 30_000 });
    }
    return mine.length;
  }
  // Reaches into the transport and amqplib: test-only.
  const manager = (
    transport as unknown as { connection: { current(): { model: { connection: unknown } } | undefined } }
  ).connection;
  const socket = (
    manager.current()?.model.connection as { stream?: { destroy(error?: Error): void } } | undefined
  )?.stream;
  socket?.destroy(new Error('test: simulated network failure'));
  return socket ? 1 : 0;
}
