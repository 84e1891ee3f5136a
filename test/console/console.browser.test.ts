/**
 * The console in a real browser (Debian's Chromium through playwright-core) against a console on
 * RabbitMQ + FerretDB with real instances: search by label, the timeline, replay from an error
 * queue, resume of a parked workflow, and read-only mode. One browser for the file.
 */
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectConsole, type ConsoleConnection } from '../../src/console/connect.js';
import { type ConsoleServer, startConsole } from '../../src/console/index.js';
import {
  Endpoint,
  MongoSagaStore,
  MongoTimeoutStore,
  RabbitMqTransport,
  silentLogger,
} from '../../src/index.js';
import { eventually } from '../conformance/transport.js';
import { launchChromium } from './browser.js';
import {
  lookUpOrder,
  ParcelPicked,
  ParcelRequested,
  ParcelSaga,
  RefundApproved,
  refundCode,
  RefundFlow,
  warehouse,
} from './fixtures.js';
import { forgetCachedRuns } from '../../src/workflows/run-cache.js';

const tag = randomUUID().slice(0, 8);
const amqp = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const mongo = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';
const database = `lh_console_${tag}`;
const prefix = `console-${tag}.`;
const name = 'parcels';

let transport: RabbitMqTransport;
let endpoint: Endpoint;
let connection: ConsoleConnection;
let server: ConsoleServer;
let readOnly: ConsoleServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  transport = new RabbitMqTransport({ url: amqp, prefix, logger: silentLogger });
  endpoint = new Endpoint({
    name,
    transport,
    sagaStore: new MongoSagaStore({ url: mongo, database, logger: silentLogger }),
    timeoutStore: new MongoTimeoutStore({ url: mongo, database, logger: silentLogger }),
    sagas: [ParcelSaga],
    workflows: [RefundFlow],
    activities: [lookUpOrder],
    logger: silentLogger,
    timeouts: { pollInterval: '200ms' },
    workflowOptions: { parkedRecheckInterval: '1h' },
  });
  const [chromium] = await Promise.all([launchChromium(), endpoint.start()]);
  browser = chromium;
  connection = await connectConsole({ amqp, mongo, database, prefix, workflowEndpoint: name });
  const common = { operations: connection.operations, health: connection.health, endpoints: [name], port: 0 };
  [server, readOnly] = await Promise.all([startConsole(common), startConsole({ ...common, readOnly: true })]);
  page = await browser.newPage();
  page.setDefaultTimeout(10_000);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await readOnly?.close();
  await connection?.close();
  await endpoint?.stop();
  await transport?.deleteDeclaredTopology();
  await endpoint?.close();
  const client = new MongoClient(mongo);
  await client.db(database).dropDatabase();
  await client.close();
});

const until = (predicate: () => Promise<boolean>, what: string): Promise<void> =>
  eventually(predicate, 20_000, what);

async function sagaStatus(parcelId: string): Promise<string | undefined> {
  return (await connection.operations.instances.show({ kind: 'saga', type: 'console.Parcel', id: parcelId }))
    ?.status;
}

describe('the console in Chromium, on RabbitMQ + FerretDB', { timeout: 60_000 }, () => {
  const parcel = `p-${tag}`;
  const customer = `c-${tag}`;

  it('search by a label finds the instance; its timeline shows what happened', async () => {
    await endpoint.bus.publish(new ParcelRequested(parcel, customer));
    await until(async () => (await sagaStatus(parcel)) === 'active', 'the parcel saga');
    await page.goto(`${server.url}instances`);
    await page.fill('input[name=label]', `customer=${customer}`);
    await page.click('form[data-testid=search] button[type=submit]');
    const rows = page.locator('table[data-testid=results] tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    await rows.first().locator('a').first().click();
    await expect
      .poll(async () => (await page.locator('[data-testid=status]').textContent())?.trim())
      .toBe('active');
    expect(await page.locator('[data-testid=labels]').textContent()).toContain(`customer=${customer}`);
    const timeline = page.locator('[data-testid=timeline] li');
    const kinds = await timeline.evaluateAll((items) => items.map((li) => li.getAttribute('data-kind')));
    expect(kinds).toContain('created');
    expect(kinds).toContain('handled');
    expect(kinds).toContain('timer');
    expect(await page.locator('[data-testid=timeline] li.timer').textContent()).toContain(
      'console.ParcelOverdue',
    );
  });

  it('a message replayed from the error queue page lets the saga complete', async () => {
    const parcel = `q-${tag}`;
    warehouse.online = false;
    await endpoint.bus.publish(new ParcelRequested(parcel, `d-${tag}`));
    await until(async () => (await sagaStatus(parcel)) === 'active', 'the parcel saga');
    await endpoint.bus.publish(new ParcelPicked(parcel));
    await until(async () => (await connection.operations.errors.count(name)) === 1, 'the failed message');
    await page.goto(`${server.url}errors/${name}`);
    const row = page.locator('table[data-testid=messages] tbody tr');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain('warehouse system offline');
    const messageId = (await row.getAttribute('data-message-id')) as string;
    warehouse.online = true;
    await row.locator('[data-action=replay]').click();
    await page.fill('textarea[name=reason]', 'warehouse back online');
    await page.click('[data-testid=confirm-button]');
    expect(await page.locator('[role=status]').textContent()).toContain('Replayed 1 message(s)');
    await until(async () => (await sagaStatus(parcel)) === 'completed', 'the saga to complete');
    expect(await connection.operations.errors.count(name)).toBe(0);
    // The queue is empty; its page still shows the replay, with the message and the reason.
    await page.goto(`${server.url}errors/${name}`);
    const recorded = page.locator('table[data-testid=queue-actions] tbody tr');
    await expect.poll(() => recorded.count()).toBe(1);
    const text = (await recorded.textContent()) ?? '';
    expect(text).toContain('errors.replay');
    expect(text).toContain(messageId);
    expect(text).toContain('warehouse back online');
    await page.goto(`${server.url}instances/saga/console.Parcel/${parcel}`);
    expect((await page.locator('[data-testid=status]').textContent())?.trim()).toBe('completed');
  });

  it('a parked workflow resumed from its page completes', async () => {
    const id = `refund-${tag}`;
    const ops = connection.operations;
    await endpoint.workflows.start(RefundFlow, { orderId: 'o-7' }, { id });
    await until(
      async () => (await endpoint.workflows.status(id))?.pending.some((p) => p.op === 'event') ?? false,
      'the wait for approval',
    );
    refundCode.version = 'v2';
    forgetCachedRuns(); // a deploy restarts the process: its run cache starts empty
    try {
      await endpoint.workflows.signal(id, RefundApproved, new RefundApproved('ada'));
      await until(async () => (await endpoint.workflows.status(id))?.status === 'parked', 'parking');
    } finally {
      refundCode.version = 'v1';
      forgetCachedRuns();
    }
    await page.goto(`${server.url}instances/workflow/console.Refund/${id}`);
    expect(await page.locator('[data-testid=status]').textContent()).toContain('parked');
    await page.click('[data-action=resume]');
    await page.fill('textarea[name=reason]', 'v1 code is back');
    await page.click('[data-testid=confirm-button]');
    expect(await page.locator('[role=status]').textContent()).toContain('Resume requested');
    await until(async () => (await endpoint.workflows.status(id))?.status === 'completed', 'completion');
    await page.reload();
    expect(await page.locator('[data-testid=status]').textContent()).toContain('completed');
    expect(await page.locator('[data-testid=action-log]').textContent()).toContain('v1 code is back');
    expect(
      (await ops.instances.show({ kind: 'workflow', type: 'console.Refund', id }))?.workflow?.result,
    ).toBe('refunded o-7, approved by ada');
  });

  it('read-only mode offers no action and refuses one posted anyway', async () => {
    await page.goto(`${readOnly.url}instances/saga/console.Parcel/${parcel}`);
    expect(await page.locator('[data-testid=mode]').textContent()).toBe('read-only');
    expect(await page.locator('[data-action]').count()).toBe(0);
    const confirm = await page.goto(
      `${readOnly.url}instances/saga/console.Parcel/${parcel}/actions/complete`,
    );
    expect(confirm?.status()).toBe(403);
    expect(await page.locator('[data-testid=error]').getAttribute('data-code')).toBe('read-only');
    const posted = await page.request.post(`${readOnly.url}api/errors/${name}/replay`, {
      data: { all: true },
    });
    expect(posted.status()).toBe(403);
    expect(((await posted.json()) as { error: { code: string } }).error.code).toBe('read-only');
  });
});
