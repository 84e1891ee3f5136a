/** The console's routes: each page has a JSON twin under `/api/`. */
import {
  type ErrorSelection,
  type InstanceDetail,
  type InstanceRef,
  type OperationsApi,
} from '../operations/api.js';
import { actionFor } from './actions.js';
import { badRequest, field, HttpError, readFields, redirect, sendHtml, sendJson } from './http.js';
import { layout } from './layout.js';
import { confirmActionBody, confirmErrorsBody } from './pages/confirm.js';
import { messageBody, queueBody, queuePath, queuesBody } from './pages/errors.js';
import { instanceBody } from './pages/instance.js';
import { instancePath, instancesBody, parseSearch } from './pages/instances.js';
import { type Overview, overviewBody } from './pages/overview.js';
import { type RequestContext } from './server.js';

/** One route: a method, a path pattern (groups become `params`) and its handler. */
export interface Route {
  readonly method: 'GET' | 'POST';
  readonly pattern: RegExp;
  /** Whether it changes something (refused in read-only mode). */
  readonly action?: boolean;
  handle(ctx: RequestContext): Promise<void>;
}

const SEG = '([^/]+)';
const INSTANCE = `(saga|workflow)/${SEG}/${SEG}`;

/** An endpoint name from a URL: a 400 (field `endpoint`) when it cannot be one. */
function endpointParam(name: string | undefined): string {
  if (name === undefined || !/^[A-Za-z0-9._:@-]{1,200}$/.test(name)) {
    throw badRequest('endpoint', `'${name ?? ''}' is not an endpoint name`);
  }
  return name;
}

function refOf(params: readonly string[]): InstanceRef {
  const [kind, type, id] = params as [string, string, string];
  return { kind: kind as 'saga' | 'workflow', type, id };
}

async function detailOf(ops: OperationsApi, ref: InstanceRef): Promise<InstanceDetail> {
  const detail = await ops.instances.show(ref);
  if (!detail)
    throw new HttpError(404, 'not-found', `instance: no ${ref.kind} '${ref.id}' of type '${ref.type}'`);
  return detail;
}

async function overview(ctx: RequestContext): Promise<Overview> {
  const { health, clock } = ctx.options;
  const now = clock.now().getTime();
  const [readings, errorQueues, nextDue] = await Promise.all([
    ctx.readings.get(),
    queues(ctx),
    health?.nextDueTimeout(),
  ]);
  const oldest = readings?.oldestPendingOutbox;
  return {
    ...(readings ? { counts: readings.counts, countedAt: readings.at } : {}),
    errorQueues,
    ...(health
      ? {
          ...(readings
            ? {
                outbox: oldest ? { oldestPendingAt: oldest, ageMs: Math.max(0, now - oldest.getTime()) } : {},
              }
            : {}),
          timeouts: nextDue
            ? { nextDueAt: nextDue, ...(nextDue.getTime() <= now ? { lagMs: now - nextDue.getTime() } : {}) }
            : {},
        }
      : {}),
    readOnly: ctx.options.readOnly,
    sources: ctx.options.sources,
  };
}

/** The depth of each configured endpoint's error queue (or why it could not be read). */
function queues(ctx: RequestContext): Promise<Overview['errorQueues']> {
  const { operations: ops, endpoints } = ctx.options;
  return Promise.all(
    endpoints.map(async (endpoint) => {
      try {
        return { endpoint, depth: await ops.errors.count(endpoint) };
      } catch (error) {
        return { endpoint, error: (error as Error).message };
      }
    }),
  );
}

function selectionOf(fields: Record<string, string | string[]>): {
  selection: ErrorSelection;
  ids: string[];
} {
  const raw = fields.id ?? fields.ids;
  const ids = raw === undefined ? [] : Array.isArray(raw) ? raw : raw.split(',').map((s) => s.trim());
  const all = fields.all === 'true';
  if (all && ids.length > 0) throw badRequest('all', 'give either all or ids, not both');
  if (!all && ids.filter((i) => i !== '').length === 0)
    throw badRequest('ids', 'say which messages (ids) or all');
  return all ? { selection: { all: true }, ids: [] } : { selection: { ids }, ids };
}

/** Every route, first match wins. */
export const ROUTES: readonly Route[] = [
  {
    method: 'GET',
    pattern: /^\/$/,
    async handle(ctx) {
      sendHtml(ctx.res, 200, layout(ctx.page(), 'Overview', overviewBody(await overview(ctx))));
    },
  },
  {
    method: 'GET',
    pattern: /^\/api\/overview$/,
    async handle(ctx) {
      sendJson(ctx.res, 200, await overview(ctx));
    },
  },
  {
    method: 'GET',
    pattern: /^\/(api\/)?instances$/,
    async handle(ctx) {
      const ops = ctx.options.operations;
      const search = parseSearch(ctx.url.searchParams);
      const page = await ops.instances.list(search.id ? { ...search.query, id: search.id } : search.query, {
        limit: search.limit,
        ...(search.cursor ? { cursor: search.cursor } : {}),
      });
      if (ctx.params[0]) return sendJson(ctx.res, 200, page);
      const counted = (await ctx.readings.get())?.counts.groups ?? [];
      const types = [...new Set(counted.map((g) => g.type))].sort();
      sendHtml(ctx.res, 200, layout(ctx.page(), 'Instances', instancesBody(search, page, types)));
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/(api/)?instances/${INSTANCE}$`),
    async handle(ctx) {
      const [api, ...rest] = ctx.params;
      const detail = await detailOf(ctx.options.operations, refOf(rest));
      if (api) return sendJson(ctx.res, 200, detail);
      sendHtml(
        ctx.res,
        200,
        layout(
          ctx.page(),
          `${detail.type} ${detail.correlationKey}`,
          instanceBody(detail, ctx.options.readOnly),
        ),
      );
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/instances/${INSTANCE}/actions/([a-z-]+)$`),
    async handle(ctx) {
      const ref = refOf(ctx.params);
      const action = actionFor(ref.kind, ctx.params[3] as string);
      if (ctx.options.readOnly)
        throw new HttpError(403, 'read-only', 'The console is read-only: actions are refused');
      const detail = await detailOf(ctx.options.operations, ref);
      const path = instancePath(detail);
      sendHtml(
        ctx.res,
        200,
        layout(
          ctx.page(),
          `${action.label}: ${detail.correlationKey}`,
          confirmActionBody(
            action,
            `${detail.type} ${detail.correlationKey}`,
            `${path}/actions/${action.name}`,
            path,
            ctx.url.searchParams,
          ),
        ),
      );
    },
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/(api/)?instances/${INSTANCE}/actions/([a-z-]+)$`),
    action: true,
    async handle(ctx) {
      const [api, ...rest] = ctx.params;
      const ref = refOf(rest);
      const action = actionFor(ref.kind, rest[3] as string);
      const fields = await readFields(ctx.req);
      const message = await action.run(ctx.options.operations, ref, fields, ctx.who);
      if (api) return sendJson(ctx.res, 200, { ok: true, action: action.name, message });
      redirect(ctx.res, `${instancePath(ref)}?${new URLSearchParams({ flash: message }).toString()}`);
    },
  },
  {
    method: 'GET',
    pattern: /^\/(api\/)?errors$/,
    async handle(ctx) {
      const list = await queues(ctx);
      if (ctx.params[0]) return sendJson(ctx.res, 200, { queues: list });
      sendHtml(ctx.res, 200, layout(ctx.page(), 'Error queues', queuesBody(list)));
    },
  },
  {
    method: 'GET',
    pattern: /^\/errors\/open$/,
    async handle(ctx) {
      redirect(ctx.res, queuePath(endpointParam(ctx.url.searchParams.get('endpoint')?.trim())));
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/(api/)?errors/${SEG}$`),
    async handle(ctx) {
      const endpoint = endpointParam(ctx.params[1]);
      const limitText = ctx.url.searchParams.get('limit') ?? '200';
      const limit = Number(limitText);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw badRequest('limit', `expected a whole number from 1 to 1000, got '${limitText}'`);
      }
      const errors = ctx.options.operations.errors;
      const depth = await errors.count(endpoint);
      const messages = await errors.list(endpoint, { limit });
      const actions = await errors.actions(endpoint, { limit: 50 });
      if (ctx.params[0]) return sendJson(ctx.res, 200, { endpoint, depth, messages, actions });
      sendHtml(
        ctx.res,
        200,
        layout(
          ctx.page(),
          `Error queue: ${endpoint}`,
          queueBody(endpoint, messages, depth, ctx.options.readOnly, actions),
        ),
      );
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/(api/)?errors/${SEG}/messages/${SEG}$`),
    async handle(ctx) {
      const endpoint = endpointParam(ctx.params[1]);
      const id = ctx.params[2] as string;
      const errors = ctx.options.operations.errors;
      const message = await errors.show(endpoint, id);
      if (!message)
        throw new HttpError(404, 'not-found', `message: no '${id}' in the error queue of '${endpoint}'`);
      if (ctx.params[0]) return sendJson(ctx.res, 200, message);
      const actions = await errors.actions(endpoint, { messageId: id, limit: 50 });
      sendHtml(
        ctx.res,
        200,
        layout(
          ctx.page(),
          `Failed message ${id}`,
          messageBody(endpoint, message, ctx.options.readOnly, actions),
        ),
      );
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/errors/${SEG}/(replay|delete)$`),
    async handle(ctx) {
      const endpoint = endpointParam(ctx.params[0]);
      if (ctx.options.readOnly)
        throw new HttpError(403, 'read-only', 'The console is read-only: actions are refused');
      const what = ctx.params[1] as 'replay' | 'delete';
      const ids = ctx.url.searchParams.getAll('id').filter((i) => i !== '');
      const base = queuePath(endpoint);
      sendHtml(
        ctx.res,
        200,
        layout(
          ctx.page(),
          `${what === 'replay' ? 'Replay' : 'Delete'}: ${endpoint}`,
          confirmErrorsBody(what, endpoint, ids, `${base}/${what}`, base),
        ),
      );
    },
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/(api/)?errors/${SEG}/(replay|delete)$`),
    action: true,
    async handle(ctx) {
      const [api, name, what] = ctx.params;
      const endpoint = endpointParam(name);
      const fields = await readFields(ctx.req);
      const { selection } = selectionOf(fields);
      const reason = field(fields, 'reason', true) ?? '';
      const errors = ctx.options.operations.errors;
      const options = { reason, by: ctx.who };
      const result =
        what === 'replay'
          ? await errors.replay(endpoint, selection, options)
          : await errors.delete(endpoint, selection, options);
      if (api) return sendJson(ctx.res, 200, result);
      const verb = what === 'replay' ? 'Replayed' : 'Deleted';
      const problems = result.missing.length + result.failed.length;
      const text = `${verb} ${result.done.length} message(s)${problems > 0 ? `; ${result.missing.length} not found, ${result.failed.length} failed` : ''}.`;
      redirect(
        ctx.res,
        `${queuePath(endpoint)}?${new URLSearchParams({ flash: text, flashKind: problems > 0 ? 'warn' : 'ok' }).toString()}`,
      );
    },
  },
];
