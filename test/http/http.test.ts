/** The HTTP API on the in-memory adapters: the edges the services test does not walk. */
import 'reflect-metadata';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { Container } from 'inversify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Endpoint, longhaulModule, silentLogger, WorkflowClient } from '../../src/index.js';
import { type HttpAction, longhaulHttp } from '../../src/http/index.js';
import { Approval } from '../../samples/http/approval-http.js';
import { Counter, CounterLimits } from '../../samples/entities/counter-entity.js';

let server: Server;
let base = '';
let container: Container;
const seen: HttpAction[] = [];

beforeAll(async () => {
  container = new Container();
  container.bind(CounterLimits).toSelf().inSingletonScope();
  container.load(
    longhaulModule({ name: 'http-unit', workflows: [Approval], entities: [Counter], logger: silentLogger }),
  );
  await container.get(Endpoint).start();
  const api = longhaulHttp(container, {
    workflows: [Approval],
    entities: [Counter],
    maxBodyBytes: 1000,
    basePath: '/api',
    logger: silentLogger,
    authorize: (req, action) => {
      seen.push(action);
      return req.headers['x-user'] !== 'mallory';
    },
  });
  // Mounted under /api the way Express does it: the prefix is gone from req.url; others fall through.
  server = createServer((req, res) => {
    if (!req.url?.startsWith('/api/')) return void res.writeHead(418).end();
    req.url = req.url.slice('/api'.length);
    api(req, res, () => res.writeHead(404, { 'x-next': 'yes' }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await container?.get(Endpoint).close();
});

const json = { 'content-type': 'application/json' };

describe('HTTP API (in memory)', () => {
  it('refuses a chunked body over the limit as soon as it passes it, and bodies nested too deep', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/workflows/Approval`, { method: 'POST', headers: json }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write('{"title":"');
      req.write('x'.repeat(2000)); // no Content-Length: counted while read
      req.end('"}');
    });
    expect(status).toBe(413);
    const deep = await fetch(`${base}/workflows/Approval`, {
      method: 'POST',
      headers: json,
      body: '['.repeat(70) + ']'.repeat(70),
    });
    expect(deep.status).toBe(400);
    expect(((await deep.json()) as any).error.code).toBe('too-deep');
    expect((await container.get(WorkflowClient).list()).items).toEqual([]);
  });

  it('starts with basePath links, cancels, and answers 409 once finished', async () => {
    const started = await fetch(`${base}/workflows/Approval`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ title: 'Desk', amount: 300 }),
    });
    const location = started.headers.get('location')!;
    expect(location).toMatch(/^\/api\/workflows\/[0-9a-f-]{36}$/);
    const path = location.slice('/api'.length);
    const bad = await fetch(`${base}${path}/cancel`, {
      method: 'POST',
      headers: json,
      body: '{"reason": 5}',
    });
    expect(((await bad.json()) as any).error.field).toBe('body.reason');
    // Terminate needs the instance in the store: wait for the start to be handled.
    while ((await fetch(`${base}${path}`)).status === 404) await new Promise((r) => setImmediate(r));
    const cancelled = await fetch(`${base}${path}/terminate`, { method: 'POST' }); // no body, no content type
    expect(cancelled.status).toBe(202);
    const done = await fetch(`${base}${path}/result?wait=5`);
    expect(((await done.json()) as any).status).toBe('terminated');
    expect((await fetch(`${base}${path}/cancel`, { method: 'POST' })).status).toBe(409);
    expect((await fetch(`${base}${path}/result?wait=soon`)).status).toBe(400);
  });

  it('passes what each request asks to authorize, before reading anything', async () => {
    seen.length = 0;
    const denied = await fetch(`${base}/entities/Counter/k1/add`, {
      method: 'POST',
      headers: { ...json, 'x-user': 'mallory' },
      body: '1',
    });
    expect(denied.status).toBe(403);
    expect(seen).toEqual([
      { action: 'entity-operation', entityType: 'Counter', key: 'k1', operation: 'add' },
    ]);
    expect((await fetch(`${base}/entities/Counter/k1`)).status).toBe(404);
  });

  it('entities: call, read, delete; unknown paths go to next()', async () => {
    const added = await fetch(`${base}/entities/Counter/k2/add`, {
      method: 'POST',
      headers: json,
      body: '3',
    });
    expect(await added.json()).toMatchObject({ result: 3 });
    expect((await fetch(`${base}/entities/Counter/k2`, { method: 'DELETE' })).status).toBe(202);
    let status = 200;
    while (status === 200) status = (await fetch(`${base}/entities/Counter/k2`)).status;
    expect(status).toBe(404);
    const other = await fetch(`${base}/elsewhere`);
    expect(other.headers.get('x-next')).toBe('yes');
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as any;
    expect(doc.paths['/workflows/{type}'].post.parameters[0].schema.enum).toEqual(['Approval']);
    expect(doc.servers).toEqual([{ url: '/api' }]);
  });
});
