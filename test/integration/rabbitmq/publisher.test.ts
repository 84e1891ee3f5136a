/** Publisher confirms: pipelined publishes with flow control, and a broker nack seen by the caller. */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Headers, type WireMessage } from '../../../src/index.js';
import { RabbitMqPublishError } from '../../../src/bus/rabbitmq/index.js';
import { dropConnections, eventually, queueDepth, rawChannel, TestBed } from './support.js';

function wire(size: number): WireMessage {
  const id = randomUUID();
  return { messageId: id, headers: { [Headers.type]: 'it.publish.Blob' }, body: Buffer.alloc(size, 'x') };
}

describe('RabbitMQ publisher', () => {
  let bed: TestBed;
  beforeEach(() => (bed = new TestBed()));
  afterEach(() => bed.dispose());

  it('keeps thousands of publishes in flight on one channel and confirms every one', async () => {
    const transport = bed.transport();
    await transport.declareEndpoint({ name: 'sink', subscriptions: [] });
    // 3,000 × 4 KiB in one go overflows the channel's write buffer (1,024 frames): publishes wait for 'drain'.
    const messages = Array.from({ length: 3_000 }, () => wire(4096));
    await Promise.all(messages.map((message) => transport.send(message, 'sink')));
    expect(await queueDepth(bed.queue('sink'))).toBe(3_000);
  });

  it('rejects a publish the broker nacks (a full queue that rejects publishes)', async () => {
    const transport = bed.transport();
    await transport.start();
    const queue = bed.queue('full');
    await rawChannel((channel) =>
      channel.assertQueue(queue, {
        durable: true,
        arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' },
      }),
    );
    try {
      await transport.send(wire(10), 'full');
      const refused = transport.send(wire(10), 'full');
      await expect(refused).rejects.toBeInstanceOf(RabbitMqPublishError);
      await expect(refused).rejects.toThrow(/nacked/);
      // The channel survives a nack.
      await transport.declareEndpoint({ name: 'after', subscriptions: [] });
      await transport.send(wire(10), 'after');
    } finally {
      await rawChannel((channel) => channel.deleteQueue(queue));
    }
  });

  it('publishes again on the new connection what a dropped one left unconfirmed', async () => {
    const transport = bed.transport();
    await transport.declareEndpoint({ name: 'sink', subscriptions: [] });
    const messages = Array.from({ length: 500 }, () => wire(1024));
    await transport.send(messages[0] as WireMessage, 'sink'); // the confirm channel is open
    const sent = Promise.all(messages.slice(1).map((message) => transport.send(message, 'sink')));
    await new Promise((resolve) => setImmediate(resolve)); // some written, none confirmed yet
    expect(await dropConnections(bed.connectionName, transport, 'socket')).toBe(1);
    await sent; // every promise resolved: each message was confirmed, on one connection or the other
    const ids = new Set<string>();
    await rawChannel(async (channel) => {
      await channel.consume(
        bed.queue('sink'),
        (message) => {
          if (message) ids.add(String(message.properties.messageId));
        },
        { noAck: true },
      );
      await eventually(() => ids.size === 500, 'every message in the queue', 5_000);
    });
    expect([...ids].sort()).toEqual(messages.map((m) => m.messageId).sort());
  });
});
