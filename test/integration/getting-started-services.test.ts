/**
 * The Getting started page on the real services: main.ts on RabbitMQ and the MongoDB stores
 * (FerretDB here, MongoDB from docker compose on a user's machine), and the validation recipe: a
 * body with a wrong field type goes to the error queue with its reason, on RabbitMQ.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import { Bus, Headers, MongoSagaStore, MongoTimeoutStore, silentLogger } from '../../src/index.js';
import { createCheckout } from '../../samples/getting-started/app.js';
import { OrderPlaced } from '../../samples/getting-started/messages.js';
import { eventually, rawChannel, TestBed, url } from './rabbitmq/support.js';

const mongoUrl = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';
let bed: TestBed;
let database: string;

afterEach(async () => {
  await bed.dispose();
  const client = new MongoClient(mongoUrl);
  await client.db(database).dropDatabase();
  await client.close();
});

function checkoutOnServices(): ReturnType<typeof createCheckout> {
  const mongo = { url: mongoUrl, database, logger: silentLogger };
  return createCheckout({
    transport: bed.transport(),
    sagaStore: new MongoSagaStore(mongo),
    timeoutStore: new MongoTimeoutStore(mongo),
    logger: silentLogger,
  });
}

describe('docs/getting-started.md on RabbitMQ + FerretDB', () => {
  it('main.ts places, charges, confirms and ships an order', async () => {
    bed = new TestBed();
    database = `lh_getting_started_${randomUUID().slice(0, 8)}`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'samples/getting-started/main.ts'],
      {
        timeout: 90_000,
        env: {
          ...process.env,
          RABBITMQ_URL: url,
          RABBITMQ_PREFIX: bed.prefix,
          MONGODB_URL: mongoUrl,
          MONGODB_DATABASE: database,
        },
      },
    );
    expect(stdout).toMatch(/order o-\d+: confirmed and shipped, tracking-parcel-o-\d+/);
    // Declare the same topology through the bed, so that dispose() deletes what main.ts left.
    const { endpoint } = checkoutOnServices();
    await endpoint.start();
    await endpoint.close();
  }, 120_000);

  it('an order whose amount is "lots" goes to checkout.error with reason decode/invalid, and starts nothing', async () => {
    bed = new TestBed();
    database = `lh_getting_started_${randomUUID().slice(0, 8)}`;
    const { container, endpoint } = checkoutOnServices();
    await endpoint.start();
    // What a buggy or hostile producer sends: {"orderId":"o-bad","amount":"lots"}.
    await container.get(Bus).publish(Object.assign(new OrderPlaced('o-bad', 0), { amount: 'lots' }));
    const errorQueue = `${bed.queue('checkout')}.error`;
    let failed: { body: string; headers: Record<string, unknown> } | undefined;
    await eventually(async () => {
      failed = await rawChannel(async (channel) => {
        const message = await channel.get(errorQueue, { noAck: false });
        if (message === false) return undefined;
        channel.nack(message, false, true);
        return { body: message.content.toString(), headers: message.properties.headers ?? {} };
      });
      return failed !== undefined;
    }, 'the order in the error queue');
    expect(JSON.parse(failed!.body)).toEqual({ orderId: 'o-bad', amount: 'lots' });
    expect(failed!.headers[Headers.errorReason]).toBe('decode/invalid');
    expect(String(failed!.headers[Headers.errorMessage])).toContain(
      'amount must be a positive number, got "lots"',
    );
    expect(await endpoint.sagaStore.findByCorrelation('checkout.Checkout', 'o-bad')).toBeUndefined();
    await endpoint.close();
  });
});
