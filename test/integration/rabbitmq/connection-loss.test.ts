/**
 * The broker drops the endpoint's connection while handlers are in flight: the transport
 * reconnects, the consumer resubscribes, every message is handled and none is applied twice.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Command,
  InMemorySagaStore,
  type Logger,
  Saga,
  type SagaContext,
  StartedBy,
} from '../../../src/index.js';
import { dropConnections, eventually, queueDepth, rawChannel, sleep, TestBed } from './support.js';

@Command('it.loss.Tick')
class Tick {
  constructor(readonly n: number) {}
}

interface TallyState {
  applied: number;
}

let started = 0;
let holdAfter = Infinity;
let release: () => void = () => undefined;
let gate = Promise.resolve();

/** One instance per tick; `applied` would reach 2 if a redelivery ran the handler again. */
@Saga('it.loss.Tally')
class Tally {
  @StartedBy(Tick, { correlateBy: (m) => String(m.n) })
  async tick(_message: Tick, context: SagaContext<TallyState>): Promise<void> {
    if (++started > holdAfter) await gate;
    context.state = { applied: (context.state?.applied ?? 0) + 1 };
  }
}

/** A logger that keeps the messages, to see what the transport noticed. */
function recordingLogger(lines: string[]): Logger {
  const keep = (message: string): void => void lines.push(message);
  return { debug: keep, info: keep, warn: keep, error: keep };
}

describe('RabbitMQ connection loss', () => {
  let bed: TestBed;

  beforeEach(() => {
    bed = new TestBed();
    started = 0;
    holdAfter = Infinity;
    gate = new Promise((resolve) => (release = resolve));
  });
  afterEach(async () => {
    release();
    await bed.dispose();
  });

  it.each(['broker', 'socket'] as const)(
    '%s drop: reconnects, resubscribes, handles every message exactly once',
    async (how) => {
      const logs: string[] = [];
      const transport = bed.transport({ logger: recordingLogger(logs) });
      const store = new InMemorySagaStore();
      const endpoint = bed.endpoint(transport, {
        name: 'tally',
        sagas: [Tally],
        sagaStore: store,
        concurrency: 8,
      });
      await endpoint.start();
      const client = bed.transport({ connectionName: `${bed.connectionName}-client` });
      const clientEndpoint = bed.endpoint(client, { name: 'client', routes: { 'it.loss.Tick': 'tally' } });
      await clientEndpoint.start();

      // 50 ticks go through, then 8 handlers block in flight while the rest wait in the queue.
      holdAfter = 50;
      const total = 200;
      await Promise.all(Array.from({ length: 150 }, (_, n) => clientEndpoint.bus.send(new Tick(n))));
      await eventually(() => started === 58, '8 handlers blocked in flight');

      expect(await dropConnections(bed.connectionName, transport, how)).toBe(1);
      await eventually(() => logs.includes('RabbitMQ connection lost; reconnecting'), 'the loss noticed');
      release(); // the blocked handlers commit now; their delivery tags died with the channel
      await eventually(() => logs.includes('consumer resubscribed'), 'the consumer back');
      expect(logs).toContain('RabbitMQ connection re-established');
      // The blocked handlers finished on a dead channel: nothing acked or copied for them.
      await eventually(
        () => logs.filter((line) => line.startsWith('delivery outlived its channel')).length === 8,
        'the 8 in-flight deliveries left to the broker',
      );

      // Publishing on the endpoint's own (reconnected) transport works too.
      await Promise.all(Array.from({ length: 50 }, (_, n) => endpoint.bus.send(new Tick(150 + n))));

      const applied = async (): Promise<number[]> =>
        Promise.all(
          Array.from({ length: total }, async (_, n) => {
            const record = await store.findByCorrelation('it.loss.Tally', String(n));
            return (record?.state as TallyState | undefined)?.applied ?? 0;
          }),
        );
      await eventually(
        async () => (await applied()).every((count) => count >= 1),
        `all ${total} ticks applied`,
      );
      await eventually(async () => (await queueDepth(bed.queue('tally'))) === 0, 'the queue drained');
      await sleep(300);
      expect(new Set(await applied())).toEqual(new Set([1]));
      // The 8 redelivered ticks were recognised by the saga inbox: their handler did not run again.
      expect(started).toBe(total);
      expect(await transport.errorQueues.count('tally')).toBe(0);
    },
  );

  it('redeclares a queue deleted under its consumer and consumes again', async () => {
    const logs: string[] = [];
    const transport = bed.transport({ logger: recordingLogger(logs) });
    const store = new InMemorySagaStore();
    const endpoint = bed.endpoint(transport, { name: 'tally', sagas: [Tally], sagaStore: store });
    await endpoint.start();
    await rawChannel((channel) => channel.deleteQueue(bed.queue('tally')));
    await eventually(() => logs.includes('RabbitMQ cancelled the consumer'), 'the cancel noticed');
    await eventually(() => logs.includes('consumer resubscribed'), 'the consumer back');
    await endpoint.bus.send(new Tick(1));
    await eventually(
      async () => (await store.findByCorrelation('it.loss.Tally', '1')) !== undefined,
      'the tick',
    );
  });
});
