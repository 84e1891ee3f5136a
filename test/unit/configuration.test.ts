import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  Endpoint,
  type EndpointOptions,
  Event,
  silentLogger,
  toMillis,
} from '../../src/index.js';
import { OrderFulfilment } from '../../samples/order-fulfilment/order-fulfilment-saga.js';

@Event('cfg.Plain')
class NotASaga {}

const startWith = async (options: Partial<EndpointOptions>): Promise<ConfigurationError> => {
  const endpoint = new Endpoint({
    name: 'cfg',
    logger: silentLogger,
    sagas: [OrderFulfilment],
    ...options,
  } as EndpointOptions);
  try {
    await endpoint.start();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  } finally {
    await endpoint.stop();
  }
  throw new Error('started with an invalid configuration');
};

describe('configuration is validated at start, and the error names the field', () => {
  const cases: [string, Partial<EndpointOptions>][] = [
    ['name', { name: 'has spaces' }],
    ['name', { name: '' }],
    ['concurrency', { concurrency: 0 }],
    ['concurrency', { concurrency: 1.5 }],
    ['maxBodyBytes', { maxBodyBytes: -1 }],
    ['recoverability.immediateRetries', { recoverability: { immediateRetries: -1 } }],
    ['recoverability.delays[1]', { recoverability: { delays: ['1s', 'soon'] } }],
    ['sagaOptions.inboxSize', { sagaOptions: { inboxSize: 0 } }],
    ['sagaOptions.notFound', { sagaOptions: { notFound: 'ignore' as 'log' } }],
    ['sagaOptions.tombstoneRetention', { sagaOptions: { tombstoneRetention: '7 days' } }],
    ['timeouts.lease', { timeouts: { lease: -5 } }],
    ['outbox.sweepInterval', { outbox: { sweepInterval: 'often' } }],
    ["routes['payments.ChargePayment']", { routes: { 'payments.ChargePayment': '' } }],
    ['sagas[1]', { sagas: [OrderFulfilment, NotASaga as never] }],
    ['handlers[0]', { handlers: [NotASaga as never] }],
  ];
  for (const [field, options] of cases) {
    it(`${field} ← ${JSON.stringify(options, (_k, v) => (typeof v === 'function' ? v.name : v))}`, async () => {
      const error = await startWith(options);
      expect(error.field).toBe(field);
      expect(error.message).toContain(field);
    });
  }

  it('reads durations in several units', () => {
    expect(toMillis('250ms')).toBe(250);
    expect(toMillis('1h30m')).toBe(5_400_000);
    expect(toMillis('3d')).toBe(259_200_000);
    expect(toMillis(42)).toBe(42);
    expect(() => toMillis('3 days', 'x.y')).toThrow(/x\.y/);
  });
});
