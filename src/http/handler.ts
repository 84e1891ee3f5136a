/**
 * The start-and-poll HTTP API over the workflow and entity clients (docs/http.md): one
 * `node:http` request handler. Requests are routed, authorized, then their body is read under
 * the size limit and checked, and only then is anything sent: a refused request starts nothing.
 */
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { EntityClient } from '../entities/client.js';
import { entityDefinitionOf, type EntityDefinition } from '../entities/definitions.js';
import { LonghaulError } from '../errors.js';
import { toMillis } from '../util/duration.js';
import { consoleLogger } from '../util/logger.js';
import { WorkflowClient } from '../workflows/client.js';
import { workflowNameOf } from '../workflows/definitions.js';
import { HttpError, sendError, sendJson } from './body.js';
import { type HttpAction, type LonghaulHttpOptions } from './options.js';
import { openApiDocument } from './openapi.js';
import { entityRoutes } from './entity-routes.js';
import { workflowRoutes } from './workflow-routes.js';

/** A `node:http` handler; with `next` (Express, Connect), unknown paths go to `next()`. */
export type LonghaulHttpHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => void;

/** Where the handler gets the clients: an Inversify container with `longhaulModule` loaded. */
export interface ClientSource {
  get<T>(serviceIdentifier: abstract new (...args: any[]) => T): T;
}

/** @internal What the route modules share. */
export interface HttpContext {
  readonly workflows: () => WorkflowClient;
  readonly entities: () => EntityClient;
  readonly workflowTypes: ReadonlySet<string>;
  readonly entityTypes: ReadonlyMap<string, EntityDefinition>;
  readonly maxBodyBytes: number;
  readonly maxWaitMs: number;
  readonly entityCallWaitMs: number;
  readonly retryAfter: string;
  readonly basePath: string;
}

/** @internal A matched route: what it asks (for authorization) and how to answer it. */
export interface Route {
  readonly action: HttpAction;
  run(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void>;
}

/**
 * Builds the HTTP API for the workflow and entity types listed in `options`. Routes:
 * `POST /workflows/{type}` (202 + `Location`), `GET /workflows/{id}`, `GET /workflows/{id}/result?wait=10s`,
 * `POST /workflows/{id}/signals/{name}`, `/cancel`, `/terminate`, `POST /entities/{type}/{key}/{operation}`,
 * `GET`/`DELETE /entities/{type}/{key}`, `GET /openapi.json`.
 * @example
 * ```ts
 * import { longhaulHttp } from 'longhaul/http';
 * const api = longhaulHttp(container, { workflows: [Approval], entities: [Counter], authorize: (req) => checkToken(req) });
 * http.createServer(api).listen(8080);   // or: app.use('/api', api) in Express
 * ```
 */
export function longhaulHttp(
  container: ClientSource,
  options: LonghaulHttpOptions = {},
): LonghaulHttpHandler {
  const workflowTypes = new Set(
    (options.workflows ?? []).map((w) => (typeof w === 'string' ? w : workflowNameOf(w))),
  );
  const entityTypes = new Map<string, EntityDefinition>();
  (options.entities ?? []).forEach((ctor, i) => {
    const definition = entityDefinitionOf(ctor);
    if (!definition)
      throw new LonghaulError('invalid-option', `longhaulHttp: entities[${i}] is not decorated with @Entity`);
    entityTypes.set(definition.name, definition);
  });
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1)
    throw new LonghaulError(
      'invalid-option',
      `longhaulHttp: maxBodyBytes must be a positive integer, got ${maxBodyBytes}`,
    );
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  let workflows: WorkflowClient | undefined;
  let entities: EntityClient | undefined;
  const context: HttpContext = {
    workflows: () => (workflows ??= container.get(WorkflowClient)),
    entities: () => (entities ??= container.get(EntityClient)),
    workflowTypes,
    entityTypes,
    maxBodyBytes,
    maxWaitMs: toMillis(options.maxWait ?? '60s', 'maxWait'),
    entityCallWaitMs: toMillis(options.entityCallWait ?? '30s', 'entityCallWait'),
    retryAfter: String(options.retryAfterSeconds ?? 1),
    basePath,
  };
  const authorize = options.authorize ?? (() => true);
  const logger = options.logger ?? consoleLogger('warn');

  const serve = async (
    req: IncomingMessage,
    res: ServerResponse,
    next?: (error?: unknown) => void,
  ): Promise<void> => {
    let route: Route | undefined;
    let query: URLSearchParams;
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      query = url.searchParams;
      route = match(req.method ?? 'GET', segments(url.pathname), context);
    } catch (error) {
      return sendError(req, res, asHttpError(error));
    }
    if (!route) {
      if (next) return next();
      return sendError(req, res, new HttpError(404, 'not-found', `No route for ${req.method} ${req.url}`));
    }
    try {
      let allowed: boolean;
      try {
        allowed = await authorize(req, route.action);
      } catch {
        allowed = false;
      }
      if (!allowed) throw new HttpError(403, 'forbidden', 'This request is not authorized');
      await route.run(req, res, query);
    } catch (error) {
      const answer = asHttpError(error);
      if (answer.status === 500)
        logger.error('HTTP request failed', {
          method: req.method,
          url: req.url,
          error: (error as Error).message,
        });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendError(req, res, answer);
    }
  };
  return (req, res, next) => {
    void serve(req, res, next);
  };
}

function segments(pathname: string): string[] {
  try {
    return pathname
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    throw new HttpError(400, 'invalid-path', 'The path holds an invalid percent-encoding', 'path');
  }
}

function match(method: string, path: string[], context: HttpContext): Route | undefined {
  const [root] = path;
  let route: Route | 'method' | undefined;
  if (root === 'openapi.json' && path.length === 1) {
    route =
      method === 'GET'
        ? {
            action: { action: 'openapi' },
            run: async (_req, res) => sendJson(res, 200, openApiDocument(context)),
          }
        : 'method';
  } else if (root === 'workflows') route = workflowRoutes(method, path.slice(1), context);
  else if (root === 'entities') route = entityRoutes(method, path.slice(1), context);
  if (route === 'method')
    throw new HttpError(405, 'method-not-allowed', `${method} is not allowed on this path`);
  return route;
}

function asHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof LonghaulError && error.code === 'payload-too-large')
    return new HttpError(413, 'payload-too-large', error.message, 'body');
  if (error instanceof LonghaulError && error.code === 'workflow-not-hosted')
    return new HttpError(404, 'not-found', error.message);
  if (error instanceof LonghaulError && /^invalid-/.test(error.code))
    return new HttpError(400, error.code, error.message);
  return new HttpError(500, 'internal', 'The request failed; the server logs say why');
}
