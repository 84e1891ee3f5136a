import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/index.js';
import { resolveRabbitMqOptions } from '../../src/bus/rabbitmq/index.js';

describe('RabbitMQ TLS options', () => {
  it('pass through with an amqps:// URL and stay out of inspect and JSON output', () => {
    const key = '-----BEGIN PRIVATE KEY-----\nsecret-key-material\n-----END PRIVATE KEY-----';
    const resolved = resolveRabbitMqOptions({
      url: 'amqps://app:pw@broker.example:5671/',
      tls: { ca: 'ca-pem', cert: 'cert-pem', key, servername: 'broker.example', minVersion: 'TLSv1.2' },
    });
    expect(resolved.tls()).toMatchObject({ servername: 'broker.example', minVersion: 'TLSv1.2', key });
    expect(inspect(resolved, { depth: 10 })).not.toContain('secret-key-material');
    expect(JSON.stringify(resolved)).not.toContain('secret-key-material');
  });

  it('are refused with a plain amqp:// URL, naming the field', () => {
    expect(() => resolveRabbitMqOptions({ url: 'amqp://127.0.0.1', tls: { servername: 'x' } })).toThrow(
      ConfigurationError,
    );
    try {
      resolveRabbitMqOptions({ url: 'amqp://127.0.0.1', tls: { servername: 'x' } });
    } catch (error) {
      expect((error as ConfigurationError).field).toBe('tls');
    }
  });
});
