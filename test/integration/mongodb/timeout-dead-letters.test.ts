/**
 * A scheduled command for an endpoint whose queue does not exist, on RabbitMQ + FerretDB: each
 * send is returned unroutable, so the scheduler retries it with backoff, dead-letters it after
 * `timeouts.maxAttempts` with the broker's reason, and leaves it there (nothing dropped, nothing
 * retried forever); once the queue exists, a replay delivers it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Command,
  Endpoint,
  type Logger,
  MongoSagaStore,
  MongoTimeoutStore,
  silentLogger,
} from '../../../src/index.js';
import { eventually, queueDepth, TestBed } from '../rabbitmq/support.js';
import { databaseFor, storeOptions, suiteFixture } from './support.js';

@Command('dl.Bill')
class Bill {
  constructor(readonly orderId: string) {}
}

describe('timeouts for an unroutable destination (RabbitMQ + FerretDB)', () => {
  const fixture = suiteFixture();
  let bed: TestBed;
  afterEach(async () => {
    await bed.dispose();
  });

  it('are retried, dead-lettered with the reason after maxAttempts, and delivered by a replay once the queue exists', async () => {
    bed = new TestBed();
    const database = databaseFor('timeout_dead');
    fixture.cleanup.push(async () => void (await fixture.raw.db(database).dropDatabase()));
    const errors: string[] = [];
    const warnings: string[] = [];
    const logger: Logger = {
      ...silentLogger,
      warn: (message) => warnings.push(message),
      error: (message, fields) => errors.push(`${message} ${JSON.stringify(fields)}`),
    };
    const timeoutStore = new MongoTimeoutStore(storeOptions(database));
    const endpoint: Endpoint = bed.endpoint(bed.transport(), {
      name: 'shop',
      logger,
      sagaStore: new MongoSagaStore(storeOptions(database)),
      timeoutStore,
      routes: { 'dl.Bill': 'billing' },
      timeouts: { pollInterval: '100ms', maxAttempts: 3, retryDelay: '100ms', maxRetryDelay: '200ms' },
    });
    await endpoint.start();
    const id = await endpoint.bus.schedule(new Bill('o-1'), { after: '50ms' });

    await eventually(async () => (await timeoutStore.deadLetters.list()).length === 1, 'the dead letter');
    const [dead] = await timeoutStore.deadLetters.list();
    expect(dead).toMatchObject({ id, destination: 'billing', attempts: 3 });
    expect(dead?.reason).toMatch(/billing/);
    expect(warnings.filter((w) => w.startsWith('timeout delivery failed'))).toHaveLength(2);
    expect(errors.join('\n')).toMatch(/timeout dead-lettered.*"attempts":3/);
    await new Promise((resolve) => setTimeout(resolve, 500)); // several polls: no further attempt
    expect((await timeoutStore.deadLetters.list()).map((d) => d.attempts)).toEqual([3]);
    expect(await timeoutStore.nextDueAt()).toBeUndefined();

    await bed.transport().declareEndpoint({ name: 'billing', subscriptions: [] });
    expect(await timeoutStore.deadLetters.replay(id)).toBe(true);
    await eventually(async () => (await queueDepth(bed.queue('billing'))) === 1, 'the replayed command');
    await eventually(
      async () => (await timeoutStore.deadLetters.list()).length === 0,
      'an empty dead letter list',
    );
    expect(await timeoutStore.nextDueAt()).toBeUndefined(); // delivered and deleted
  }, 40_000);
});
