/**
 * Graceful shutdown: handlers in flight finish and are acknowledged, deliveries not yet started
 * stay in the queue, and nothing is delivered twice.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Command, type Handler, HandlerFor } from '../../../src/index.js';
import { eventually, queueDepth, sleep, TestBed } from './support.js';

@Command('it.shutdown.Work')
class Work {
  constructor(readonly n: number) {}
}

const started: number[] = [];
const finished: number[] = [];

@HandlerFor(Work)
class Worker implements Handler<Work> {
  async handle(message: Work): Promise<void> {
    started.push(message.n);
    await sleep(400);
    finished.push(message.n);
  }
}

describe('RabbitMQ graceful shutdown', () => {
  let bed: TestBed;

  beforeEach(() => {
    bed = new TestBed();
    started.length = 0;
    finished.length = 0;
  });
  afterEach(() => bed.dispose());

  it('lets handlers in flight finish and acks them; the rest waits in the queue, nothing twice', async () => {
    const first = bed.transport();
    const worker = bed.endpoint(first, { name: 'work', handlers: [Worker], concurrency: 4 });
    await worker.start();
    await Promise.all(Array.from({ length: 6 }, (_, n) => worker.bus.send(new Work(n))));
    await eventually(() => started.length === 4, '4 handlers in flight');

    await worker.stop();
    expect(finished.sort()).toEqual([...started].sort());
    expect(finished).toHaveLength(4);
    await first.close();
    // Closed: anything left unacknowledged would be back in the queue now.
    expect(await queueDepth(bed.queue('work'))).toBe(2);

    const second = bed.endpoint(bed.transport(), { name: 'work', handlers: [Worker], concurrency: 4 });
    await second.start();
    await eventually(() => finished.length === 6, 'the other two handled');
    await sleep(300);
    expect(started.sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('gives prefetched deliveries that never started back to the queue at once', async () => {
    const first = bed.transport({ prefetch: 10 });
    const worker = bed.endpoint(first, { name: 'work', handlers: [Worker], concurrency: 2 });
    await worker.start();
    await Promise.all(Array.from({ length: 6 }, (_, n) => worker.bus.send(new Work(n))));
    await eventually(() => started.length === 2, '2 handlers in flight');
    await worker.stop();
    expect(finished).toHaveLength(2);
    // Still connected: the 4 held deliveries were requeued by the stop itself.
    await eventually(
      async () => (await queueDepth(bed.queue('work'))) === 4,
      'the held deliveries requeued',
      5_000,
    );
    await first.close();
    expect(await queueDepth(bed.queue('work'))).toBe(4);
    expect(started).toHaveLength(2);
  });
});
