/**
 * Several broker URLs (the nodes of a cluster): the transport connects to the first that answers,
 * fails over to the next node when it loses its connection, says which node it uses, and refuses
 * a bad list at construction naming the entry. Against the local broker, reached under two names
 * (127.0.0.1 and localhost) and behind a port where nothing listens.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Command,
  ConfigurationError,
  InMemorySagaStore,
  type Logger,
  Saga,
  type SagaContext,
  StartedBy,
} from '../../../src/index.js';
import { RabbitMqConnectionError, RabbitMqTransport } from '../../../src/bus/rabbitmq/index.js';
import { dropConnections, eventually, TestBed, url } from './support.js';

@Command('it.failover.Ping')
class Ping {
  constructor(readonly n: number) {}
}

@Saga('it.failover.Pong')
class Pong {
  @StartedBy(Ping, { correlateBy: (m) => String(m.n) })
  async ping(_message: Ping, context: SagaContext<{ n: number }>): Promise<void> {
    context.state = { n: 1 };
  }
}

/** A URL of the local broker under another host name, or on a port where nothing listens. */
function variant(host: string, port?: number): string {
  const parsed = new URL(url);
  parsed.hostname = host;
  if (port !== undefined) parsed.port = String(port);
  return parsed.href;
}

interface Line {
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

function recording(lines: Line[]): Logger {
  const keep = (message: string, fields?: Record<string, unknown>): void =>
    void lines.push({ message, fields: fields ?? {} });
  return { debug: keep, info: keep, warn: keep, error: keep };
}

describe('RabbitMQ with several broker URLs', () => {
  let bed: TestBed;
  beforeEach(() => {
    bed = new TestBed();
  });
  afterEach(async () => {
    await bed.dispose();
  });

  async function handledBy(transport: RabbitMqTransport, n: number): Promise<InMemorySagaStore> {
    const store = new InMemorySagaStore();
    const endpoint = bed.endpoint(transport, { name: 'pong', sagas: [Pong], sagaStore: store });
    await endpoint.start();
    await endpoint.bus.send(new Ping(n), { to: 'pong' });
    await eventually(
      async () => (await store.findByCorrelation('it.failover.Pong', String(n))) !== undefined,
      'ping',
    );
    return store;
  }

  it('connects to the first node that answers, and says which one it skipped', async () => {
    const lines: Line[] = [];
    const dead = variant('127.0.0.1', 1);
    const transport = bed.transport({ url: [dead, url], logger: recording(lines) });
    await handledBy(transport, 1);
    const skipped = lines.find((l) => l.message === 'RabbitMQ node did not answer; trying the next');
    expect(skipped?.fields.url).toBe(dead.replace('guest:guest', 'guest:***'));
    expect(JSON.stringify(lines)).not.toContain('guest:guest');
  });

  it('after losing its connection, reconnects to the node after the one it lost', async () => {
    const lines: Line[] = [];
    const first = variant('127.0.0.1');
    const second = variant('localhost');
    const transport = bed.transport({ url: [first, second], logger: recording(lines) });
    const store = await handledBy(transport, 1);
    expect(await dropConnections(bed.connectionName, transport, 'broker')).toBeGreaterThanOrEqual(1);
    await eventually(
      () => lines.some((l) => l.message === 'RabbitMQ connection re-established'),
      'the reconnection',
    );
    const back = lines.find((l) => l.message === 'RabbitMQ connection re-established');
    expect(back?.fields.url).toBe(second.replace('guest:guest', 'guest:***'));
    // And it still works on the new node.
    await eventually(() => lines.some((l) => l.message === 'consumer resubscribed'), 'the consumer back');
    const client = bed.transport({ connectionName: `${bed.connectionName}-client` });
    const sender = bed.endpoint(client, { name: 'sender', routes: { 'it.failover.Ping': 'pong' } });
    await sender.start();
    await sender.bus.send(new Ping(2));
    await eventually(
      async () => (await store.findByCorrelation('it.failover.Pong', '2')) !== undefined,
      'ping 2',
    );
  });

  it('gives up naming every node when none answers', async () => {
    const transport = bed.transport({
      url: [variant('127.0.0.1', 1), variant('localhost', 2)],
      reconnect: { maxAttempts: 1, initialDelay: '10ms', maxDelay: '10ms' },
    });
    const error = await transport.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RabbitMqConnectionError);
    expect((error as RabbitMqConnectionError).problem).toBe('unreachable');
    expect((error as Error).message).toMatch(
      /none of the 2 brokers answered: amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1.*localhost:2/,
    );
  });

  it('refuses an empty list or a bad entry at construction, naming it', () => {
    const field = (value: unknown): string | undefined => {
      try {
        new RabbitMqTransport({ url: value as string[] });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigurationError);
        return (error as ConfigurationError).field;
      }
      return undefined;
    };
    expect(field([])).toBe('url');
    expect(field([url, 'http://example.com'])).toBe('url[1]');
    expect(field([url, 42])).toBe('url[1]');
  });
});
