/**
 * The HTTP API over real HTTP (`fetch` to a `node:http` server on a loopback port), served by an
 * endpoint on RabbitMQ + FerretDB: the approval sample's handler (samples/http/approval-http.ts).
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { Container } from 'inversify';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Endpoint,
  longhaulModule,
  MongoSagaStore,
  MongoTimeoutStore,
  RabbitMqTransport,
  silentLogger,
  WorkflowClient,
} from '../../src/index.js';
import { approvalApi, main } from '../../samples/http/approval-http.js';
import { Counter, CounterLimits } from '../../samples/entities/counter-entity.js';
import { Approval } from '../../samples/http/approval-http.js';

const mongoUrl = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';
const tag = randomUUID().slice(0, 8);
const database = `lh_http_${tag}`;
let server: Server;
let base = '';
let container: Container;
let transport: RabbitMqTransport;

const auth = { authorization: 'Bearer demo-token' };
const jsonHeaders = { ...auth, 'content-type': 'application/json' };

beforeAll(async () => {
  transport = new RabbitMqTransport({
    url: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    prefix: `http-${tag}.`,
  });
  container = new Container();
  container.bind(CounterLimits).toSelf().inSingletonScope();
  container.load(
    longhaulModule({
      name: 'approvals',
      workflows: [Approval],
      entities: [Counter],
      transport,
      sagaStore: new MongoSagaStore({ url: mongoUrl, database, logger: silentLogger }),
      timeoutStore: new MongoTimeoutStore({ url: mongoUrl, database, logger: silentLogger }),
      logger: silentLogger,
      timeouts: { pollInterval: '200ms' },
    }),
  );
  await container.get(Endpoint).start();
  server = createServer(approvalApi(container));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  const endpoint = container?.get(Endpoint);
  await endpoint?.stop();
  await transport?.deleteDeclaredTopology();
  await endpoint?.close();
  const mongo = new MongoClient(mongoUrl);
  await mongo.db(database).dropDatabase();
  await mongo.close();
});

async function post(path: string, body: unknown, headers: Record<string, string> = jsonHeaders) {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

async function get(path: string) {
  const response = await fetch(`${base}${path}`, { headers: auth });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

/** Waits (polling, 20 ms apart) until `path` is no longer a 404: the start was handled. */
async function found(path: string): Promise<void> {
  while ((await get(path)).status === 404) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('HTTP API on RabbitMQ + FerretDB', () => {
  it('refuses hostile requests with the right 4xx and starts nothing', async () => {
    const bad = await post('/workflows/Approval', '{"title": "x",');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid-json', field: 'body' });

    const huge = await post('/workflows/Approval', JSON.stringify({ title: 'x'.repeat(10 * 1024 * 1024) }));
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('payload-too-large');

    const unknown = await post('/workflows/Payroll', { title: 'x' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'unknown-workflow-type', field: 'type' });

    const proto = await post('/workflows/Approval', '{"title": "x", "meta": {"__proto__": {"admin": true}}}');
    expect(proto.status).toBe(400);
    expect(proto.body.error).toMatchObject({ code: 'forbidden-key', field: 'body.meta.__proto__' });
    const ctor = await post('/workflows/Approval', '{"constructor": {"prototype": {}}}');
    expect(ctor.body.error).toMatchObject({ code: 'forbidden-key', field: 'body.constructor' });

    const text = await post('/workflows/Approval', 'title=x', { ...auth, 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(text.body.error).toMatchObject({ code: 'unsupported-media-type', field: 'content-type' });

    const anonymous = await post(
      '/workflows/Approval',
      { title: 'x' },
      { 'content-type': 'application/json' },
    );
    expect(anonymous.status).toBe(403);

    const key = await post(
      '/workflows/Approval',
      { title: 'x' },
      { ...jsonHeaders, 'idempotency-key': 'a b' },
    );
    expect(key.status).toBe(400);
    expect(key.body.error.field).toBe('Idempotency-Key');

    expect((await fetch(`${base}/workflows/Approval`, { method: 'PUT', headers: auth })).status).toBe(405);
    expect((await get('/nowhere')).status).toBe(404);
    expect((await get(`/workflows/${randomUUID()}`)).status).toBe(404);

    // Nothing was sent: the store holds no instance (a start that was sent would be the only
    // message on the queue, so a later start that completes would follow it).
    const { id } = (await post('/workflows/Approval', { title: 'probe', amount: 1 })).body;
    await found(`/workflows/${id}`);
    expect((await post(`/workflows/${id}/terminate`, { reason: 'probe done' })).status).toBe(202);
    const finished = await get(`/workflows/${id}/result?wait=20s`);
    expect(finished.body.status).toBe('terminated');
    const { items } = await container.get(WorkflowClient).list();
    expect(items.map((i) => i.id)).toEqual([id]);
  });

  it('start, poll, signal and long-poll the result; idempotent start by key', async () => {
    const input = { title: 'Conference trip', amount: 900 };
    const headers = { ...jsonHeaders, 'idempotency-key': `trip-${tag}` };
    const started = await post('/workflows/Approval', input, headers);
    expect(started.status).toBe(202);
    const location = started.headers.get('location')!;
    expect(location).toBe(`/workflows/${started.body.id}`);
    expect(started.headers.get('retry-after')).toBe('1');

    const again = await post('/workflows/Approval', input, headers);
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(started.body.id);
    // The instance is in the store once the first start is handled; then another input is a conflict.
    await found(location);
    const conflict = await post('/workflows/Approval', { ...input, amount: 901 }, headers);
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('idempotency-key-reused');

    const polled = await get(location);
    expect(polled.status).toBe(200);
    expect(polled.body).toMatchObject({ id: started.body.id, type: 'Approval', status: 'running' });

    const early = await get(`${location}/result?wait=0`);
    expect(early.status).toBe(202);

    const signalled = await post(`${location}/signals/approvals.Decision`, { approved: true, by: 'grace' });
    expect(signalled.status).toBe(202);
    const done = await get(`${location}/result?wait=20s`);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({
      status: 'completed',
      result: { title: 'Conference trip', outcome: 'approved', by: 'grace' },
    });
    const late = await post(`${location}/signals/approvals.Decision`, { approved: false, by: 'x' });
    expect(late.status).toBe(409);
    const list = await container.get(WorkflowClient).list({ type: 'Approval' }, { limit: 10 });
    expect(list.items.filter((i) => i.id === started.body.id)).toHaveLength(1);
  });

  it('calls, signals and reads an entity', async () => {
    const key = `budget-${tag}`;
    const added = await post(`/entities/Counter/${key}/add`, 5);
    expect(added).toMatchObject({ status: 200, body: { result: 5 } });
    const signalled = await post(`/entities/Counter/${key}/add?mode=signal`, 2);
    expect(signalled.status).toBe(202);
    const total = await post(`/entities/Counter/${key}/get`, '', auth);
    expect(total.body.result).toBe(7);
    const refused = await post(`/entities/Counter/${key}/add`, 5000);
    expect(refused.status).toBe(422);
    expect(refused.body.error.failure.name).toBe('RangeError');
    expect((await post(`/entities/Counter/${key}/initialState`, 1)).status).toBe(404);
    expect((await post(`/entities/Ledger/${key}/add`, 1)).status).toBe(404);
    const read = await get(`/entities/Counter/${key}`);
    expect(read.body).toMatchObject({ entityType: 'Counter', key, state: { value: 7 }, operations: 4 });
    const openapi = await get('/openapi.json');
    expect(Object.keys(openapi.body.paths)).toContain('/workflows/{type}');
  });
});

describe('samples/http/approval-http.ts', () => {
  it('runs in memory as the README quotes it', async () => {
    const lines = await main();
    expect(lines.at(-1)).toMatch(/200 completed \{"title":"New laptop","outcome":"approved","by":"ada"\}$/);
  });
});
