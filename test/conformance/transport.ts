/**
 * The transport conformance suite: every Transport adapter runs it unchanged (see
 * `src/bus/transport.ts` for the contract it checks).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Delivery,
  type Disposition,
  Headers,
  type Transport,
  type WireMessage,
} from '../../src/index.js';

/** What an adapter provides to the suite. */
export interface TransportHarness {
  readonly transport: Transport;
  /** Reads (without removing, or removing: either) the messages in an endpoint's error queue. */
  errors(endpoint: string): Promise<WireMessage[]>;
  /** Deletes what the test declared and closes the transport. */
  dispose(): Promise<void>;
}

/** Builds a wire message of `type` with a JSON body. */
export function wire(type: string, body: object, headers: Record<string, string> = {}): WireMessage {
  const id = randomUUID();
  return {
    messageId: id,
    headers: {
      [Headers.type]: type,
      [Headers.correlationId]: id,
      [Headers.conversationId]: id,
      [Headers.sentAt]: new Date().toISOString(),
      ...headers,
    },
    body: Buffer.from(JSON.stringify(body)),
  };
}

/** Resolves when `predicate` holds, polling; rejects after `ms`. */
export async function eventually(
  predicate: () => boolean | Promise<boolean>,
  ms = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const ack: Disposition = { kind: 'ack' };

export function describeTransportConformance(name: string, create: () => Promise<TransportHarness>): void {
  describe(`Transport conformance: ${name}`, () => {
    let harness: TransportHarness;
    let transport: Transport;
    let prefix: string;
    const stops: (() => Promise<void>)[] = [];
    const endpoint = (suffix: string): string => `${prefix}.${suffix}`;
    const collect = async (
      ep: string,
      subscriptions: string[] = [],
      respond = async (_d: Delivery) => ack,
    ) => {
      const received: Delivery[] = [];
      await transport.declareEndpoint({ name: ep, subscriptions });
      const consumer = await transport.consume(
        ep,
        async (d) => {
          received.push(d);
          return respond(d);
        },
        { concurrency: 4 },
      );
      stops.push(() => consumer.stop());
      return received;
    };

    beforeEach(async () => {
      harness = await create();
      transport = harness.transport;
      prefix = `conf-${randomUUID().slice(0, 8)}`;
    });

    afterEach(async () => {
      for (const stop of stops.splice(0)) await stop();
      await harness.dispose();
    });

    it('delivers a published event to every subscribed endpoint and only to those', async () => {
      const a = await collect(endpoint('a'), [`${prefix}.Happened`]);
      const b = await collect(endpoint('b'), [`${prefix}.Happened`, `${prefix}.Other`]);
      const c = await collect(endpoint('c'), [`${prefix}.Other`]);
      const message = wire(`${prefix}.Happened`, { n: 1 });
      await transport.publish(message);
      await eventually(() => a.length === 1 && b.length === 1, 10_000, 'both subscribers');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(a.map((d) => d.message.messageId)).toEqual([message.messageId]);
      expect(b.map((d) => d.message.messageId)).toEqual([message.messageId]);
      expect(c).toHaveLength(0);
    });

    it('keeps the id, headers and body of a message byte for byte', async () => {
      const received = await collect(endpoint('a'));
      const message = wire(
        `${prefix}.Cmd`,
        { text: 'zażółć 🚀', date: { $date: '2026-01-01T00:00:00.000Z' } },
        { 'x-custom': 'value' },
      );
      await transport.send(message, endpoint('a'));
      await eventually(() => received.length === 1);
      const got = received[0]!.message;
      expect(got.messageId).toBe(message.messageId);
      expect(Buffer.compare(got.body, message.body)).toBe(0);
      for (const [key, value] of Object.entries(message.headers)) expect(got.headers[key]).toBe(value);
    });

    it('sends a command to the named endpoint only', async () => {
      const a = await collect(endpoint('a'));
      const b = await collect(endpoint('b'));
      await transport.send(wire(`${prefix}.Cmd`, {}), endpoint('b'));
      await eventually(() => b.length === 1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(a).toHaveLength(0);
    });

    it('rejects a send to an endpoint that does not exist', async () => {
      await expect(transport.send(wire(`${prefix}.Cmd`, {}), endpoint('missing'))).rejects.toThrow();
    });

    it('delivers every one of many messages at least once', async () => {
      const received = await collect(endpoint('a'));
      const sent = Array.from({ length: 200 }, (_, n) => wire(`${prefix}.Cmd`, { n }));
      await Promise.all(sent.map((m) => transport.send(m, endpoint('a'))));
      await eventually(
        () => new Set(received.map((d) => d.message.messageId)).size === 200,
        20_000,
        '200 messages',
      );
    });

    it('runs at most `concurrency` handlers at once, and more than one', async () => {
      const ep = endpoint('a');
      await transport.declareEndpoint({ name: ep, subscriptions: [] });
      let running = 0;
      let peak = 0;
      let done = 0;
      const consumer = await transport.consume(
        ep,
        async () => {
          peak = Math.max(peak, ++running);
          await new Promise((resolve) => setTimeout(resolve, 30));
          running--;
          done++;
          return ack;
        },
        { concurrency: 3 },
      );
      stops.push(() => consumer.stop());
      await Promise.all(Array.from({ length: 12 }, () => transport.send(wire(`${prefix}.Cmd`, {}), ep)));
      await eventually(() => done === 12);
      expect(peak).toBeLessThanOrEqual(3);
      expect(peak).toBeGreaterThan(1);
    });

    it('redelivers a message whose handler threw', async () => {
      let calls = 0;
      const received = await collect(endpoint('a'), [], async () => {
        if (++calls === 1) throw new Error('crash');
        return ack;
      });
      const message = wire(`${prefix}.Cmd`, {});
      await transport.send(message, endpoint('a'));
      await eventually(() => received.length === 2, 15_000, 'redelivery');
      expect(received.map((d) => d.message.messageId)).toEqual([message.messageId, message.messageId]);
    });

    it('applies a retry disposition: redelivers after the delay with the new headers', async () => {
      const times: number[] = [];
      const received = await collect(endpoint('a'), [], async (d) => {
        times.push(Date.now());
        return d.message.headers['x-attempt'] === '2'
          ? ack
          : { kind: 'retry', delayMs: 300, headers: { 'x-attempt': '2' } };
      });
      await transport.send(wire(`${prefix}.Cmd`, {}), endpoint('a'));
      await eventually(() => received.length === 2, 15_000, 'the delayed retry');
      expect(received[1]!.message.headers['x-attempt']).toBe('2');
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(250);
    });

    it('applies an error disposition: the message lands in the error queue with the headers', async () => {
      await collect(endpoint('a'), [], async () => ({
        kind: 'error',
        headers: { [Headers.errorReason]: 'test-reason' },
      }));
      const message = wire(`${prefix}.Cmd`, { n: 7 });
      await transport.send(message, endpoint('a'));
      let errors: WireMessage[] = [];
      await eventually(
        async () => (errors = await harness.errors(endpoint('a'))).length === 1,
        10_000,
        'the error queue',
      );
      expect(errors[0]!.messageId).toBe(message.messageId);
      expect(errors[0]!.headers[Headers.errorReason]).toBe('test-reason');
      expect(JSON.parse(errors[0]!.body.toString())).toEqual({ n: 7 });
    });

    it('stops gracefully: waits for handlers in flight and takes no new deliveries', async () => {
      const ep = endpoint('a');
      await transport.declareEndpoint({ name: ep, subscriptions: [] });
      let started = 0;
      let finished = 0;
      const consumer = await transport.consume(
        ep,
        async () => {
          started++;
          await new Promise((resolve) => setTimeout(resolve, 300));
          finished++;
          return ack;
        },
        { concurrency: 1 },
      );
      await transport.send(wire(`${prefix}.Cmd`, {}), ep);
      await transport.send(wire(`${prefix}.Cmd`, {}), ep);
      await eventually(() => started === 1);
      await consumer.stop();
      expect(finished).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(started).toBe(1);
    });
  });
}
