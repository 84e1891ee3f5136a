/**
 * The console's HTTP server: `node:http`, server-rendered pages and a JSON API under `/api/`,
 * one process-local state: the snapshot of the overview's counts (`readings.ts`); every other
 * read goes to the stores afresh.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { CONSOLE_CSS, CONSOLE_JS } from './assets.js';
import { checkHost, checkSameOrigin, presentedToken, tokenCookie, tokenMatches } from './auth.js';
import { html } from './html.js';
import {
  HttpError,
  httpErrorOf,
  readFields,
  redirect,
  sendAsset,
  sendHtml,
  sendJson,
  wantsJson,
} from './http.js';
import { layout, type PageContext } from './layout.js';
import {
  type ConsoleOptions,
  isLoopback,
  resolveConsoleOptions,
  type ResolvedConsoleOptions,
} from './options.js';
import { ReadingsCache } from './readings.js';
import { type Route, ROUTES } from './routes.js';

/** A running console. */
export interface ConsoleServer {
  /** The address to open, e.g. `http://127.0.0.1:8240/` (the port chosen when 0 was asked). */
  readonly url: string;
  readonly port: number;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/** What a route handler gets. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly params: readonly string[];
  readonly options: ResolvedConsoleOptions;
  /** The overview's counts and oldest outbox entry, refreshed behind the pages. */
  readonly readings: ReadingsCache;
  /** Who actions are recorded as. */
  readonly who: string;
  /** The shell of a page at this path (with the flash from `?flash=`). */
  page(): PageContext;
}

function allowedHosts(options: ResolvedConsoleOptions, port: number): Set<string> {
  if (!isLoopback(options.host)) return new Set();
  return new Set(['127.0.0.1', 'localhost', '[::1]', options.host].map((h) => `${h}:${port}`));
}

const FLASH_KINDS = new Set(['ok', 'bad', 'warn']);

/**
 * Starts the console. Listens on 127.0.0.1 unless told otherwise (another interface needs a
 * token); resolves once it accepts connections.
 * @example
 * ```ts
 * const server = await startConsole({ operations, endpoints: ['shop'], port: 0, readOnly: true });
 * console.log(`open ${server.url}`);
 * ```
 */
export async function startConsole(options: ConsoleOptions): Promise<ConsoleServer> {
  const resolved = resolveConsoleOptions(options);
  let hosts = new Set<string>();
  const readings = new ReadingsCache(
    async () => {
      const [counts, oldestPendingOutbox] = await Promise.all([
        resolved.operations.instances.counts(),
        resolved.health?.oldestPendingOutbox(),
      ]);
      return { counts, ...(oldestPendingOutbox ? { oldestPendingOutbox } : {}) };
    },
    resolved.logger,
    { ...resolved.readings, clock: resolved.clock },
  );
  const server: Server = createServer((req, res) => {
    void handle(req, res, resolved, hosts, readings);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.port, resolved.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  hosts = allowedHosts(resolved, port);
  readings.warm();
  const shownHost =
    resolved.host.includes(':') && !resolved.host.startsWith('[') ? `[${resolved.host}]` : resolved.host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: ResolvedConsoleOptions,
  hosts: ReadonlySet<string>,
  readings: ReadingsCache,
): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://console.invalid');
  } catch {
    sendJson(res, 400, { error: { code: 'bad-request', message: 'url: not a valid request target' } });
    return;
  }
  const path = url.pathname;
  const json = wantsJson(path);
  try {
    checkHost(req, hosts);
    if (path === '/assets/console.css') return sendAsset(res, 'text/css; charset=utf-8', CONSOLE_CSS);
    if (path === '/assets/console.js') return sendAsset(res, 'text/javascript; charset=utf-8', CONSOLE_JS);
    if (path === '/favicon.ico') return void res.writeHead(204).end();
    if (options.token !== undefined && !(await authorized(req, res, url, options.token, json))) return;
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
      throw new HttpError(405, 'method-not-allowed', `method: ${method} is not served`);
    }
    const found = match(method === 'HEAD' ? 'GET' : method, path);
    if (!found) throw new HttpError(404, 'not-found', `path: nothing at '${path}'`);
    const { route, params } = found;
    if (method === 'POST') {
      checkSameOrigin(req);
      if (options.readOnly && route.action) {
        throw new HttpError(403, 'read-only', 'The console is read-only: actions are refused');
      }
    }
    const remote = req.socket.remoteAddress ?? 'unknown';
    const ctx: RequestContext = {
      req,
      res,
      url,
      params,
      options,
      readings,
      who: `${options.operator}@${remote}`,
      page: () => pageContext(options, path, url.searchParams),
    };
    await route.handle(ctx);
  } catch (error) {
    const failure = httpErrorOf(error);
    if (failure.status >= 500) options.logger.error('console request failed', { path, error: String(error) });
    if (res.headersSent) return void res.end();
    if (json) {
      sendJson(res, failure.status, { error: { code: failure.code, message: failure.message } });
    } else {
      const ctx = pageContext(options, path, new URLSearchParams());
      sendHtml(
        res,
        failure.status,
        layout(
          ctx,
          failure.status === 404 ? 'Not found' : 'Something went wrong',
          html`<div class="alert bad" data-testid="error" data-code="${failure.code}">${failure.message}</div>
            <p><a href="/">Back to the overview</a></p>`,
        ),
      );
    }
  }
}

function pageContext(options: ResolvedConsoleOptions, path: string, params: URLSearchParams): PageContext {
  const flash = params.get('flash');
  const kind = params.get('flashKind') ?? 'ok';
  return {
    title: options.title,
    readOnly: options.readOnly,
    now: options.clock.now(),
    path,
    ...(flash && FLASH_KINDS.has(kind)
      ? { flash: { kind: kind as 'ok' | 'bad' | 'warn', text: flash.slice(0, 300) } }
      : {}),
  };
}

async function authorized(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  token: string,
  json: boolean,
): Promise<boolean> {
  if (tokenMatches(presentedToken(req), token)) return true;
  const given = url.searchParams.get('token');
  if (req.method === 'GET' && given !== null && tokenMatches(given, token)) {
    url.searchParams.delete('token');
    redirect(res, `${url.pathname}${url.search}`, { 'set-cookie': tokenCookie(token) });
    return false;
  }
  if (req.method === 'POST' && url.pathname === '/login') {
    const fields = await readFields(req);
    if (typeof fields.token === 'string' && tokenMatches(fields.token, token)) {
      redirect(res, '/', { 'set-cookie': tokenCookie(token) });
      return false;
    }
  }
  if (json) throw new HttpError(401, 'unauthorized', 'token: missing or wrong access token');
  const ctx: PageContext = { title: 'Longhaul console', readOnly: true, now: new Date(), path: '/login' };
  sendHtml(
    res,
    401,
    layout(
      ctx,
      'Access token needed',
      html`<form method="post" action="/login" class="confirm" data-testid="login">
        <p>This console was started with an access token.</p>
        <p>
          <label
            >Token<br /><input type="password" name="token" required autocomplete="current-password"
          /></label>
        </p>
        <button type="submit">Open</button>
      </form>`,
    ),
  );
  return false;
}

function match(method: string, path: string): { route: Route; params: string[] } | undefined {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const m = route.pattern.exec(path);
    if (!m) continue;
    try {
      return { route, params: m.slice(1).map((p) => (p === undefined ? '' : decodeURIComponent(p))) };
    } catch {
      throw new HttpError(400, 'bad-request', `path: '${path}' is not validly encoded`);
    }
  }
  return undefined;
}
