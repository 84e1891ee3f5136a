/** Publisher confirms: pipelined publishes with flow control, and a broker nack seen by the caller. */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Headers, type Logger, type WireMessage } from '../../../src/index.js';
import { RabbitMqPublishError } from '../../../src/bus/rabbitmq/index.js';
import { dropConnections, eventually, queueDepth, rawChannel, TestBed, url } from './support.js';

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

  it('gives up at once, with a clear error, on a publish the user may not write (403 ACCESS_REFUSED)', async () => {
    const rabbitmqctl = (...args: string[]): Promise<unknown> =>
      promisify(execFile)('rabbitmqctl', ['-q', ...args], { timeout: 20_000 });
    const user = `lh_readonly_${randomUUID().slice(0, 8)}`;
    await rabbitmqctl('add_user', user, 'readonly-secret');
    try {
      // May declare and read anything, write nowhere (not even the default exchange).
      await rabbitmqctl('set_permissions', '-p', '/', user, '.*', '^$', '.*');
      await bed.transport().declareEndpoint({ name: 'sink', subscriptions: [] });
      const warnings: string[] = [];
      const logger: Logger = {
        debug: () => {},
        info: () => {},
        warn: (message) => void warnings.push(message),
        error: () => {},
      };
      const at = new URL(url);
      at.username = user;
      at.password = 'readonly-secret';
      const readOnly = bed.transport({ url: at.href, logger });
      const refused = readOnly.send(wire(10), 'sink');
      await expect(refused).rejects.toBeInstanceOf(RabbitMqPublishError);
      await expect(refused).rejects.toMatchObject({ code: 'rabbitmq/access-refused' });
      await expect(refused).rejects.toThrow(/ACCESS_REFUSED/);
      // One refusal, not three channels opened and refused alike.
      expect(warnings.filter((w) => w === 'RabbitMQ closed the publish channel')).toHaveLength(1);
      expect(await queueDepth(bed.queue('sink'))).toBe(0);
    } finally {
      await rabbitmqctl('delete_user', user).catch(() => undefined);
    }
  });
});
