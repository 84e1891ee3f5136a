/**
 * Recoverability on the broker, for classic and quorum queues: delayed retries through the retry
 * queues, then the error queue with the reason; replay; poison messages straight to the error queue.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Command, type Handler, type HandlerContext, HandlerFor, Headers } from '../../../src/index.js';
import { type QueueType } from '../../../src/bus/rabbitmq/index.js';
import { eventually, rawChannel, sleep, TestBed } from './support.js';

@Command('it.recover.Charge')
class Charge {
  constructor(readonly orderId: string) {}
}

interface Attempt {
  readonly orderId: string;
  readonly delayedRetries?: string;
  readonly errorHeaders: string[];
  readonly at: number;
}

const attempts: Attempt[] = [];
let failing = true;

@HandlerFor(Charge)
class Charger implements Handler<Charge> {
  handle(message: Charge, context: HandlerContext): void {
    const headers = context.envelope.headers;
    attempts.push({
      orderId: message.orderId,
      delayedRetries: headers[Headers.delayedRetries],
      errorHeaders: Object.keys(headers).filter((key) => key.startsWith('longhaul.error.')),
      at: Date.now(),
    });
    if (failing) throw new Error(`card declined for ${message.orderId}`);
  }
}

describe.each(['classic', 'quorum'] as QueueType[])('RabbitMQ recoverability (%s queues)', (queueType) => {
  let bed: TestBed;

  beforeEach(() => {
    bed = new TestBed();
    attempts.length = 0;
    failing = true;
  });
  afterEach(() => bed.dispose());

  async function start() {
    const transport = bed.transport({ queueType });
    const endpoint = bed.endpoint(transport, { name: 'payments', handlers: [Charger] });
    await endpoint.start();
    return { transport, endpoint };
  }

  it('retries after each delay with the count in the headers, then parks the message with the reason', async () => {
    const { transport, endpoint } = await start();
    const id = await endpoint.bus.send(new Charge('o-1'));
    await eventually(async () => (await transport.errorQueues.count('payments')) === 1, 'the error queue');
    expect(attempts.map((a) => a.delayedRetries)).toEqual([undefined, '1', '2']);
    // Delays are ['200ms', '400ms']: generous lower bounds only.
    expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(150);
    expect((attempts[2]?.at ?? 0) - (attempts[1]?.at ?? 0)).toBeGreaterThanOrEqual(350);
    const [parked] = await transport.errorQueues.list('payments');
    expect(parked).toMatchObject({
      messageId: id,
      reason: 'handler-error',
      error: 'Error: card declined for o-1',
      attempts: 3,
      source: 'payments',
    });
    expect(parked?.headers[Headers.errorStack]).toContain('card declined');
    expect(JSON.parse(parked?.body.toString() ?? '')).toEqual({ orderId: 'o-1' });
    expect(transport.declaredTopology().queues).toEqual(
      expect.arrayContaining([`${bed.prefix}payments.retry.200ms`, `${bed.prefix}payments.retry.400ms`]),
    );
    await sleep(300);
    expect(attempts).toHaveLength(3);
  });

  it('replays a parked message to its queue, where it is handled with a fresh retry budget', async () => {
    const { transport, endpoint } = await start();
    const id = await endpoint.bus.send(new Charge('o-2'));
    const other = await endpoint.bus.send(new Charge('o-3'));
    await eventually(
      async () => (await transport.errorQueues.count('payments')) === 2,
      'two parked messages',
    );
    failing = false;
    attempts.length = 0;
    const result = await transport.errorQueues.replay('payments', { ids: [id, 'no-such-id'] });
    expect(result).toEqual({ replayed: [id], missing: ['no-such-id'], failed: [] });
    await eventually(() => attempts.length === 1, 'the replayed message handled');
    expect(attempts[0]).toMatchObject({ orderId: 'o-2', delayedRetries: undefined, errorHeaders: [] });
    const left = await transport.errorQueues.list('payments');
    expect(left.map((m) => m.messageId)).toEqual([other]);
    expect(await transport.errorQueues.show('payments', other)).toMatchObject({
      messageId: other,
      attempts: 3,
    });
    expect(await transport.errorQueues.show('payments', id)).toBeUndefined();
  });

  it('parks undecodable and odd AMQP input at once, without a retry, and keeps consuming', async () => {
    const { transport, endpoint } = await start();
    const queue = bed.queue('payments');
    await rawChannel(async (channel) => {
      // No message id, a body that is not JSON, header values of every AMQP kind.
      channel.sendToQueue(queue, Buffer.from('\u0000not json'), {
        headers: {
          [Headers.type]: 'it.recover.Charge',
          'x-number': 42,
          'x-bool': true,
          'x-table': { nested: 1 },
          'x-array': [1, 'two'],
          'x-bytes': Buffer.from('raw'),
          'x-void': null,
        },
      });
      // An id, but a type nobody registered.
      channel.sendToQueue(queue, Buffer.from('{}'), {
        messageId: 'poison-2',
        headers: { [Headers.type]: 'it.recover.Unknown' },
      });
      // Nothing at all.
      channel.sendToQueue(queue, Buffer.alloc(0));
      await channel.waitForConfirms();
    });
    await eventually(
      async () => (await transport.errorQueues.count('payments')) === 3,
      'three parked messages',
    );
    const parked = await transport.errorQueues.list('payments');
    expect(parked.map((m) => m.reason).sort()).toEqual([
      'decode/missing-field',
      'decode/missing-field',
      'decode/unknown-type',
    ]);
    const odd = parked.find((m) => m.headers[Headers.type] === 'it.recover.Charge');
    expect(odd?.messageId).toBe('');
    expect(odd?.headers).toMatchObject({ 'x-number': '42', 'x-bool': 'true', 'x-bytes': 'raw' });
    expect(odd?.headers).not.toHaveProperty('x-table');
    expect(odd?.headers).not.toHaveProperty('x-array');
    expect(odd?.body.toString()).toBe('\u0000not json');
    for (const message of parked) expect(message.headers).not.toHaveProperty(Headers.delayedRetries);
    expect(transport.declaredTopology().queues.some((q) => q.includes('.retry.'))).toBe(false);
    expect(attempts).toHaveLength(0);
    failing = false;
    await endpoint.bus.send(new Charge('o-4'));
    await eventually(() => attempts.length === 1, 'a good message after the poison');
  });
});

describe('error queue listing', () => {
  let bed: TestBed;
  beforeEach(() => (bed = new TestBed()));
  afterEach(() => bed.dispose());

  it("takes the broker's dead-letter reason from the message's own headers only", async () => {
    const transport = bed.transport();
    await transport.declareEndpoint({ name: 'parked', subscriptions: [] });
    const queue = `${bed.queue('parked')}.error`;
    await rawChannel(async (channel) => {
      const publish = (messageId: string, headers: Record<string, unknown>): boolean =>
        channel.sendToQueue(queue, Buffer.from('{}'), { messageId, headers, persistent: true });
      publish('dead-lettered', { 'x-first-death-reason': 'expired' });
      // amqplib decodes a `__proto__` table key into the headers object's prototype.
      publish('forged', { ['__proto__']: { 'x-first-death-reason': 'forged' } });
      await channel.waitForConfirms();
    });
    await eventually(async () => (await transport.errorQueues.count('parked')) === 2, 'two parked');
    const reasons = Object.fromEntries(
      (await transport.errorQueues.list('parked')).map((m) => [m.messageId, m.reason]),
    );
    expect(reasons).toEqual({ 'dead-lettered': 'rabbitmq/expired', forged: 'unknown' });
  });
});
