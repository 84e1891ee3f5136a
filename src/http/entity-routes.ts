/** The entity routes of the HTTP API: call or signal an operation, read, delete. */
import { type EntityDefinition } from '../entities/definitions.js';
import { LonghaulError } from '../errors.js';
import { OperationFailedError } from '../workflows/api.js';
import { HttpError, readJson, sendJson } from './body.js';
import { type HttpContext, type Route } from './handler.js';
import { idempotencyKey, waitOf } from './workflow-routes.js';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The route for `method` on `/entities/...` (`path` without the root), `'method'`, or undefined. */
export function entityRoutes(
  method: string,
  path: string[],
  context: HttpContext,
): Route | 'method' | undefined {
  const [type, key, operation] = path;
  if (type === undefined || key === undefined) return undefined;
  if (path.length === 2) {
    if (method === 'GET') return read(type, key, context);
    if (method === 'DELETE') return remove(type, key, context);
    return 'method';
  }
  if (path.length === 3 && operation !== undefined)
    return method === 'POST' ? operate(type, key, operation, context) : 'method';
  return undefined;
}

function definitionOf(context: HttpContext, type: string, key: string): EntityDefinition {
  const definition = context.entityTypes.get(type);
  if (!definition)
    throw new HttpError(404, 'unknown-entity-type', `No entity type '${type}' is served here`, 'type');
  if (key.length === 0 || key.length > 200 || CONTROL.test(key))
    throw new HttpError(
      400,
      'invalid-entity-key',
      'An entity key is 1-200 characters without control characters',
      'key',
    );
  return definition;
}

function operate(type: string, key: string, operation: string, context: HttpContext): Route {
  return {
    action: { action: 'entity-operation', entityType: type, key, operation },
    async run(req, res, query) {
      const definition = definitionOf(context, type, key);
      if (!definition.operations.has(operation))
        throw new HttpError(404, 'unknown-operation', `${type} has no operation '${operation}'`, 'operation');
      const mode = query.get('mode') ?? 'call';
      if (mode !== 'call' && mode !== 'signal')
        throw new HttpError(
          400,
          'invalid-mode',
          `mode is 'call' (the default) or 'signal', got ${JSON.stringify(mode)}`,
          'mode',
        );
      const waitMs = waitOf(query, context.maxWaitMs, context.entityCallWaitMs);
      const operationId = idempotencyKey(req);
      const input = await readJson(req, context.maxBodyBytes);
      const client = context.entities();
      const options = operationId !== undefined ? { operationId } : {};
      if (mode === 'signal') {
        const id = await client.signalEntity(type, key, operation, input, options);
        sendJson(res, 202, { operationId: id, entityType: type, key, operation });
        return;
      }
      try {
        const value = await client.callEntity(type, key, operation, input, { ...options, timeout: waitMs });
        sendJson(res, 200, { entityType: type, key, operation, result: value ?? null });
      } catch (error) {
        if (error instanceof OperationFailedError) {
          const { name, message, code } = error.failure;
          throw new HttpError(422, 'operation-failed', `${name}: ${message}`, undefined, {
            failure: { name, message, ...(code ? { code } : {}) },
          });
        }
        if (error instanceof LonghaulError && error.code === 'timeout')
          throw new HttpError(
            504,
            'timeout',
            `No result within ${waitMs} ms; repeat the request with the same Idempotency-Key to keep waiting for it`,
          );
        throw error;
      }
    },
  };
}

function read(type: string, key: string, context: HttpContext): Route {
  return {
    action: { action: 'entity-read', entityType: type, key },
    async run(_req, res) {
      definitionOf(context, type, key);
      const snapshot = await context.entities().read(type, key);
      if (!snapshot) throw new HttpError(404, 'not-found', `No ${type} entity '${key}'`, 'key');
      sendJson(res, 200, snapshot);
    },
  };
}

function remove(type: string, key: string, context: HttpContext): Route {
  return {
    action: { action: 'entity-delete', entityType: type, key },
    async run(_req, res) {
      definitionOf(context, type, key);
      await context.entities().delete(type, key);
      sendJson(res, 202, { entityType: type, key, deleted: 'requested' });
    },
  };
}
