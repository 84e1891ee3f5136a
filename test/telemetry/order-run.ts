/**
 * One order run to completion on an in-memory endpoint, as the telemetry tests without the global
 * SDK drive it: published, its payment handler failing once (a delayed retry a second later), then
 * the timeout an hour later that completes the saga.
 */
import { expect } from 'vitest';
import { type EndpointOptions } from '../../src/index.js';
import { startEndpoint, type TestEndpoint } from '../support/endpoint.js';
import { OrderPlaced, OrderSaga, Payments } from './fixtures.js';

export async function runOrder(
  orderId: string,
  options: Partial<EndpointOptions> & { name: string },
): Promise<TestEndpoint> {
  const t = await startEndpoint({
    sagas: [OrderSaga],
    handlers: [Payments],
    recoverability: { immediateRetries: 1, delays: ['1s'] },
    ...options,
  });
  await t.endpoint.bus.publish(new OrderPlaced(orderId));
  await t.idle();
  await t.clock.advance('2s');
  await t.idle();
  await t.clock.advance('61m');
  await t.idle();
  expect(t.handled.some((h) => h.sagas.some((s) => s.completed))).toBe(true);
  return t;
}
