/** Options validation, and clear start-up errors for a wrong URL, credentials, vhost or queue type. */
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError, Endpoint, silentLogger } from '../../../src/index.js';
import {
  RabbitMqConnectionError,
  type RabbitMqTransportOptions,
  RabbitMqTopologyError,
  RabbitMqTransport,
  redactUrl,
} from '../../../src/bus/rabbitmq/index.js';
import { TestBed, url } from './support.js';

function fieldOf(options: RabbitMqTransportOptions): string | undefined {
  try {
    new RabbitMqTransport({ logger: silentLogger, ...options });
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as ConfigurationError).field;
  }
}

async function startError(target: string): Promise<RabbitMqConnectionError> {
  const transport = new RabbitMqTransport({ url: target, logger: silentLogger, connectTimeout: '5s' });
  try {
    const error = await transport.start().then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(RabbitMqConnectionError);
    return error as RabbitMqConnectionError;
  } finally {
    await transport.close();
  }
}

describe('RabbitMQ transport options', () => {
  it('validates every option at construction, naming the field', () => {
    expect(fieldOf({ url: 'http://localhost' })).toBe('url');
    expect(fieldOf({ url: 'not a url' })).toBe('url');
    expect(fieldOf({ prefix: 'has space' })).toBe('prefix');
    expect(fieldOf({ exchange: 'amq.topic' })).toBe('exchange');
    expect(fieldOf({ exchange: '' })).toBe('exchange');
    expect(fieldOf({ queueType: 'lazy' as never })).toBe('queueType');
    expect(fieldOf({ prefetch: 0 })).toBe('prefetch');
    expect(fieldOf({ prefetch: 70_000 })).toBe('prefetch');
    expect(fieldOf({ endpointPrefetch: { billing: 1.5 } })).toBe("endpointPrefetch['billing']");
    expect(fieldOf({ heartbeat: '500ms' })).toBe('heartbeat');
    expect(fieldOf({ connectTimeout: 0 })).toBe('connectTimeout');
    expect(fieldOf({ reconnect: { initialDelay: '2s', maxDelay: '1s' } })).toBe('reconnect.maxDelay');
    expect(fieldOf({ reconnect: { maxAttempts: 0 } })).toBe('reconnect.maxAttempts');
    expect(fieldOf({ publishTimeout: 'soon' })).toBe('publishTimeout');
    expect(fieldOf({ connectionName: '' })).toBe('connectionName');
    expect(fieldOf({ logger: {} as never })).toBe('logger');
    expect(
      fieldOf({ heartbeat: 0, prefix: 'app.', queueType: 'quorum', reconnect: { maxAttempts: Infinity } }),
    ).toBe(undefined);
  });

  it('never shows the password of the URL', () => {
    expect(redactUrl('amqp://app:hunter2@broker:5672/prod')).toBe('amqp://app:***@broker:5672/prod');
    let message = '';
    try {
      new RabbitMqTransport({ url: 'ftp://app:hunter2@broker' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('app:***@broker');
    expect(message).not.toContain('hunter2');
    const transport = new RabbitMqTransport({ url: 'amqp://app:hunter2@broker/prod', logger: silentLogger });
    for (const printed of [
      inspect(transport, { depth: 10 }),
      JSON.stringify(transport.options),
      String(transport.options.url),
    ]) {
      expect(printed).not.toContain('hunter2');
    }
    expect(transport.options.url.reveal().password).toBe('hunter2');
  });
});

describe('RabbitMQ start-up errors', () => {
  const target = new URL(url);
  const withUrl = (change: (u: URL) => void): string => {
    const copy = new URL(target.href);
    change(copy);
    return copy.href;
  };

  it('names wrong credentials, without the password', async () => {
    const error = await startError(withUrl((u) => (u.password = 'hunter2-wrong')));
    expect(error.problem).toBe('authentication');
    expect(error.code).toBe('rabbitmq/authentication');
    expect(error.message).toContain(`user '${decodeURIComponent(target.username) || 'guest'}'`);
    expect(error.message).toContain(':***@');
    expect(error.message).not.toContain('hunter2');
  });

  it('names a virtual host that does not exist', async () => {
    const error = await startError(withUrl((u) => (u.pathname = '/no-such-vhost')));
    expect(error.problem).toBe('vhost');
    expect(error.message).toContain("virtual host 'no-such-vhost'");
  });

  it('names an unreachable broker', async () => {
    const error = await startError(withUrl((u) => (u.port = '1')));
    expect(error.problem).toBe('unreachable');
    expect(error.message).toMatch(/Cannot reach RabbitMQ at amqp:\/\/.*:1/);
  });

  it('fails the endpoint start with that error', async () => {
    const transport = new RabbitMqTransport({
      url: withUrl((u) => (u.password = 'nope')),
      logger: silentLogger,
    });
    const endpoint = new Endpoint({ name: 'never', transport, logger: silentLogger });
    await expect(endpoint.start()).rejects.toBeInstanceOf(RabbitMqConnectionError);
    await transport.close();
  });
});

describe('RabbitMQ topology conflicts', () => {
  let bed: TestBed;
  beforeEach(() => (bed = new TestBed()));
  afterEach(() => bed.dispose());

  it('refuses to redeclare a classic queue as a quorum one, saying so', async () => {
    await bed.transport({ queueType: 'classic' }).declareEndpoint({ name: 'orders', subscriptions: [] });
    const quorum = bed.transport({ queueType: 'quorum' });
    const error = await quorum.declareEndpoint({ name: 'orders', subscriptions: [] }).then(
      () => undefined,
      (reason: unknown) => reason as Error,
    );
    expect(error).toBeInstanceOf(RabbitMqTopologyError);
    expect(error?.message).toContain(`queue '${bed.prefix}orders'`);
    expect(error?.message).toContain("queue type 'quorum'");
    // The transport is still usable.
    await quorum.declareEndpoint({ name: 'invoices', subscriptions: [] });
  });

  it('rejects endpoint names that would collide with error or retry queues', async () => {
    const transport = bed.transport();
    await expect(
      transport.declareEndpoint({ name: 'orders.error', subscriptions: [] }),
    ).rejects.toBeInstanceOf(RabbitMqTopologyError);
    await expect(
      transport.declareEndpoint({ name: 'orders.retry.1000ms', subscriptions: [] }),
    ).rejects.toThrow('collide');
  });
});
