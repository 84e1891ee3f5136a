/** The workflow routes of the HTTP API: start, status, long-polled result, signal, cancel, terminate. */
import { type IncomingMessage } from 'node:http';
import { derivedId, newId } from '../util/ids.js';
import { toMillis } from '../util/duration.js';
import { type WorkflowStatus } from '../workflows/client.js';
import { HttpError, readJson, sendJson } from './body.js';
import { type HttpContext, type Route } from './handler.js';

const NAME = /^[A-Za-z0-9_.:-]{1,200}$/;
const KEY = /^[\x21-\x7e]{1,200}$/;
const FINISHED = new Set(['completed', 'failed', 'terminated']);

/** The route for `method` on `/workflows/...` (`path` without the root), `'method'`, or undefined. */
export function workflowRoutes(
  method: string,
  path: string[],
  context: HttpContext,
): Route | 'method' | undefined {
  const [first, second, third] = path;
  if (first === undefined) return undefined;
  if (path.length === 1) {
    if (method === 'POST') return start(first, context);
    if (method === 'GET') return status(first, context);
    return 'method';
  }
  if (path.length === 2 && second === 'result') return method === 'GET' ? result(first, context) : 'method';
  if (path.length === 3 && second === 'signals' && third !== undefined)
    return method === 'POST' ? signal(first, third, context) : 'method';
  if (path.length === 2 && (second === 'cancel' || second === 'terminate'))
    return method === 'POST' ? stop(first, second, context) : 'method';
  return undefined;
}

/** The `Idempotency-Key` header, checked (1-200 visible ASCII characters), or undefined. */
export function idempotencyKey(req: IncomingMessage): string | undefined {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !KEY.test(key))
    throw new HttpError(
      400,
      'invalid-idempotency-key',
      'Idempotency-Key must be 1-200 visible ASCII characters',
      'Idempotency-Key',
    );
  return key;
}

function links(context: HttpContext, id: string): { status: string; result: string } {
  const base = `${context.basePath}/workflows/${encodeURIComponent(id)}`;
  return { status: base, result: `${base}/result` };
}

function start(type: string, context: HttpContext): Route {
  return {
    action: { action: 'start', workflowType: type },
    async run(req, res) {
      if (!context.workflowTypes.has(type))
        throw new HttpError(
          404,
          'unknown-workflow-type',
          `No workflow type '${type}' is served here`,
          'type',
        );
      const key = idempotencyKey(req);
      const input = await readJson(req, context.maxBodyBytes);
      const client = context.workflows();
      const id = key !== undefined ? derivedId('http-start', type, key) : newId();
      if (key !== undefined) {
        const existing = await client.history(id);
        // The input can be compared while the instance is in its first generation only.
        const otherInput = existing?.generation === 0 && stable(existing.input) !== stable(input ?? null);
        if (existing && (existing.workflowType !== type || otherInput)) {
          throw new HttpError(
            409,
            'idempotency-key-reused',
            'This Idempotency-Key already started a workflow with another type or input',
            'Idempotency-Key',
            { id },
          );
        }
      }
      await client.start(type, input ?? null, { id });
      const at = links(context, id);
      sendJson(res, 202, { id, type, links: at }, { location: at.status, 'retry-after': context.retryAfter });
    },
  };
}

/** The status of a listed type's instance, or a 404. */
async function find(context: HttpContext, id: string): Promise<WorkflowStatus> {
  const found = await context.workflows().status(id);
  if (!found || !context.workflowTypes.has(found.type))
    throw new HttpError(404, 'not-found', `No workflow instance '${id}'`, 'id');
  return found;
}

function view(context: HttpContext, s: WorkflowStatus): Record<string, unknown> {
  return {
    id: s.id,
    type: s.type,
    status: s.status,
    ...(s.status === 'completed' ? { result: s.result ?? null } : {}),
    ...(s.failure
      ? { failure: { name: s.failure.name, message: s.failure.message, code: s.failure.code } }
      : {}),
    ...(s.reason !== undefined ? { reason: s.reason } : {}),
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    ...(s.finishedAt ? { finishedAt: s.finishedAt } : {}),
    links: links(context, s.id),
  };
}

function status(id: string, context: HttpContext): Route {
  return {
    action: { action: 'status', instanceId: id },
    async run(_req, res) {
      const found = await find(context, id);
      sendJson(
        res,
        200,
        view(context, found),
        FINISHED.has(found.status) ? {} : { 'retry-after': context.retryAfter },
      );
    },
  };
}

/** `wait` as milliseconds: `10` (seconds) or a duration (`10s`, `500ms`), at most `maxWait`. */
export function waitOf(query: URLSearchParams, maxMs: number, fallbackMs: number): number {
  const raw = query.get('wait');
  if (raw === null || raw === '') return Math.min(fallbackMs, maxMs);
  let ms: number;
  try {
    ms = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) * 1000 : toMillis(raw as never, 'wait');
  } catch {
    ms = NaN;
  }
  if (!Number.isFinite(ms) || ms < 0)
    throw new HttpError(
      400,
      'invalid-wait',
      `wait must be seconds or a duration such as 10s, got ${JSON.stringify(raw)}`,
      'wait',
    );
  return Math.min(ms, maxMs);
}

function result(id: string, context: HttpContext): Route {
  return {
    action: { action: 'result', instanceId: id },
    async run(req, res, query) {
      const waitMs = waitOf(query, context.maxWaitMs, 0);
      const deadline = Date.now() + waitMs;
      let found = await find(context, id);
      // Read again with a growing pause until it finishes, the wait runs out or the caller leaves.
      for (let pause = 25; !FINISHED.has(found.status); pause = Math.min(500, pause * 2)) {
        const left = deadline - Date.now();
        if (left <= 0 || req.socket.destroyed) {
          const at = links(context, id);
          sendJson(res, 202, view(context, found), {
            location: at.result,
            'retry-after': context.retryAfter,
          });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
        found = await find(context, id);
      }
      sendJson(res, 200, view(context, found));
    },
  };
}

function signal(id: string, name: string, context: HttpContext): Route {
  return {
    action: { action: 'signal', instanceId: id },
    async run(req, res) {
      if (!NAME.test(name))
        throw new HttpError(400, 'invalid-signal-name', 'A signal name is 1-200 of [A-Za-z0-9_.:-]', 'name');
      const key = idempotencyKey(req);
      const payload = await readJson(req, context.maxBodyBytes);
      const found = await find(context, id);
      if (FINISHED.has(found.status))
        throw new HttpError(409, 'workflow-finished', `Workflow '${id}' is ${found.status}`, 'id');
      await context
        .workflows()
        .signal(id, name, (payload ?? null) as object, key !== undefined ? { signalId: key } : {});
      sendJson(
        res,
        202,
        { id, signal: name, links: links(context, id) },
        { 'retry-after': context.retryAfter },
      );
    },
  };
}

function stop(id: string, what: 'cancel' | 'terminate', context: HttpContext): Route {
  return {
    action: { action: what, instanceId: id },
    async run(req, res) {
      const body = await readJson(req, context.maxBodyBytes);
      let reason = `${what} over HTTP`;
      if (body !== undefined && body !== null) {
        const given =
          typeof body === 'object' && !Array.isArray(body) ? (body as { reason?: unknown }).reason : body;
        if (typeof given !== 'string' || given.length === 0 || given.length > 1000)
          throw new HttpError(
            400,
            'invalid-reason',
            'The body is optional; when given, { "reason": "<1-1000 characters>" }',
            'body.reason',
          );
        reason = given;
      }
      const found = await find(context, id);
      if (FINISHED.has(found.status))
        throw new HttpError(409, 'workflow-finished', `Workflow '${id}' is ${found.status}`, 'id');
      const client = context.workflows();
      if (what === 'cancel') await client.cancel(id, reason);
      else await client.terminate(id, reason);
      sendJson(
        res,
        202,
        { id, requested: what, links: links(context, id) },
        { 'retry-after': context.retryAfter },
      );
    },
  };
}

/** JSON with object keys sorted, to compare two inputs. */
function stable(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}
