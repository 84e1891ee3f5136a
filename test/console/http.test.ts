/**
 * The console's HTTP surface without a browser: the access token, read-only mode, bad input and
 * the same-origin and Host checks, on the in-memory transport and stores (the demo's setup).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, startConsole } from '../../src/console/index.js';
import { type Endpoint, InMemoryTransport, silentLogger, VirtualClock } from '../../src/index.js';
import { inMemoryErrorQueueAccess, OperationsClient } from '../../src/operations/index.js';
import { OrderPlaced } from '../../samples/order-fulfilment/messages.js';
import { createShop } from '../../samples/order-fulfilment/setup.js';

const TOKEN = 'correct-horse-battery';
let endpoint: Endpoint;
let transport: InMemoryTransport;
let open: ConsoleServer;
let guarded: ConsoleServer;
let readOnly: ConsoleServer;

beforeAll(async () => {
  const clock = new VirtualClock(new Date('2026-11-23T09:00:00Z'));
  transport = new InMemoryTransport(clock);
  ({ endpoint } = createShop({
    transport,
    clock,
    logger: silentLogger,
    timeouts: { pollInterval: Infinity },
    outbox: { sweepInterval: Infinity },
  }));
  await endpoint.start();
  await endpoint.bus.publish(new OrderPlaced('slow-2', 99));
  await transport.whenIdle();
  const operations = new OperationsClient({
    store: endpoint.sagaStore,
    workflows: endpoint.workflows,
    timeouts: endpoint.timeoutStore,
    errorQueues: inMemoryErrorQueueAccess(transport),
    now: () => clock.now(),
  });
  const common = { operations, endpoints: ['shop'], port: 0, clock, logger: silentLogger };
  [open, guarded, readOnly] = await Promise.all([
    startConsole(common),
    startConsole({ ...common, token: TOKEN }),
    startConsole({ ...common, readOnly: true }),
  ]);
});

afterAll(async () => {
  await Promise.all([open, guarded, readOnly].map((s) => s?.close()));
  await endpoint?.close();
});

async function errorOf(response: Response): Promise<{ code: string; message: string }> {
  const body = (await response.json()) as { error: { code: string; message: string } };
  return body.error;
}

const saga = 'instances/saga/OrderFulfilment/slow-2';

describe('console HTTP', () => {
  it('serves the overview and an instance as JSON and as pages', async () => {
    const overview = (await (await fetch(`${open.url}api/overview`)).json()) as {
      counts: { total: number };
      errorQueues: { endpoint: string; depth: number }[];
    };
    expect(overview.counts.total).toBe(1);
    expect(overview.errorQueues).toEqual([{ endpoint: 'shop', depth: 0 }]);
    const instance = await fetch(`${open.url}api/${saga}`);
    expect(instance.status).toBe(200);
    expect(((await instance.json()) as { status: string }).status).toBe('active');
    const page = await fetch(`${open.url}${saga}`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('data-testid="timeline"');
  });

  it('with a token: 401 with code unauthorized without it, served with the bearer or the cookie', async () => {
    const refused = await fetch(`${guarded.url}api/overview`);
    expect(refused.status).toBe(401);
    expect((await errorOf(refused)).code).toBe('unauthorized');
    const page = await fetch(guarded.url);
    expect(page.status).toBe(401);
    expect(await page.text()).toContain('data-testid="login"');
    const wrong = await fetch(`${guarded.url}api/overview`, {
      headers: { authorization: 'Bearer nope-nope-nope' },
    });
    expect(wrong.status).toBe(401);
    const bearer = await fetch(`${guarded.url}api/overview`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(bearer.status).toBe(200);
    // ?token= sets an HttpOnly, SameSite=Strict cookie and redirects to the URL without the token.
    const login = await fetch(`${guarded.url}instances?token=${TOKEN}&kind=saga`, { redirect: 'manual' });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/instances?kind=saga');
    const cookie = login.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const withCookie = await fetch(`${guarded.url}instances?kind=saga`, {
      headers: { cookie: cookie.split(';')[0] as string },
    });
    expect(withCookie.status).toBe(200);
    // The login form does the same with a POST; a wrong token gets the form again.
    const form = (token: string): Promise<Response> =>
      fetch(`${guarded.url}login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
        redirect: 'manual',
      });
    expect((await form('wrong-token-here')).status).toBe(401);
    const posted = await form(TOKEN);
    expect(posted.status).toBe(303);
    expect(posted.headers.get('set-cookie')).toMatch(/HttpOnly/);
    expect(await withCookie.text()).toContain('slow-2');
  });

  it('read-only: every action is a 403 with code read-only and nothing changes', async () => {
    const action = await fetch(`${readOnly.url}api/${saga}/actions/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'not allowed here' }),
    });
    expect(action.status).toBe(403);
    expect((await errorOf(action)).code).toBe('read-only');
    const replay = await fetch(`${readOnly.url}api/errors/shop/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ all: true }),
    });
    expect(replay.status).toBe(403);
    expect((await errorOf(replay)).code).toBe('read-only');
    const confirm = await fetch(`${readOnly.url}${saga}/actions/complete`);
    expect(confirm.status).toBe(403);
    expect(await (await fetch(`${readOnly.url}${saga}`)).text()).toContain('data-testid="read-only-note"');
    const instance = (await (await fetch(`${open.url}api/${saga}`)).json()) as { status: string };
    expect(instance.status).toBe('active');
  });

  it('bad input: a 400 with code bad-request naming the field', async () => {
    const cases: [string, RequestInit | undefined, string][] = [
      ['api/instances?status=sleeping', undefined, 'status'],
      ['api/instances?label=customer', undefined, 'label'],
      ['api/instances?limit=0', undefined, 'limit'],
      ['api/instances?colour=red', undefined, 'colour'],
      ['api/errors/shop?limit=many', undefined, 'limit'],
      ['api/errors/bad%20name', undefined, 'endpoint'],
      [
        `api/${saga}/actions/complete`,
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' },
        'reason',
      ],
      [
        `api/${saga}/actions/complete`,
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"reason":' },
        'body',
      ],
      [
        'api/errors/shop/replay',
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' },
        'ids',
      ],
    ];
    for (const [path, init, field] of cases) {
      const response = await fetch(`${open.url}${path}`, init);
      const error = await errorOf(response);
      expect({ path, status: response.status, code: error.code }).toEqual({
        path,
        status: 400,
        code: 'bad-request',
      });
      expect(error.message).toMatch(new RegExp(`^${field}:`));
    }
    const unknown = await fetch(`${open.url}api/instances/saga/OrderFulfilment/nope`);
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe('not-found');
    const noAction = await fetch(`${open.url}api/${saga}/actions/explode`, { method: 'POST' });
    expect(noAction.status).toBe(404);
    expect((await errorOf(noAction)).code).toBe('unknown-action');
  });

  it('refuses actions from another site and requests for another Host', async () => {
    const crossSite = await fetch(`${open.url}api/${saga}/actions/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ reason: 'csrf' }),
    });
    expect(crossSite.status).toBe(403);
    expect((await errorOf(crossSite)).code).toBe('forbidden-origin');
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${open.url}api/overview`, { headers: { host: 'rebound.example:80' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });

  it('an action through the API is carried out and recorded with who and why', async () => {
    const done = await fetch(`${open.url}api/${saga}/actions/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'customer called to cancel' }),
    });
    expect(done.status).toBe(200);
    const instance = (await (await fetch(`${open.url}api/${saga}`)).json()) as {
      status: string;
      actions: { action: string; reason: string; by: string }[];
    };
    expect(instance.status).toBe('completed');
    expect(instance.actions[0]).toMatchObject({
      action: 'saga.complete',
      reason: 'customer called to cancel',
    });
    expect(instance.actions[0]?.by).toMatch(/^console@/);
  });

  it('a non-loopback host without a token is a configuration error naming host', async () => {
    await expect(startConsole({ operations: {} as never, host: '0.0.0.0', port: 0 })).rejects.toThrow(
      /host: .*needs an access token/,
    );
  });
});
