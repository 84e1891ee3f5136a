/** The OpenAPI 3.1 document of the HTTP API, listing the workflow and entity types served. */
import { type EntityDefinition } from '../entities/definitions.js';

const json = (schema: object = {}): object => ({ content: { 'application/json': { schema } } });
const error = { $ref: '#/components/schemas/Error' };
const errors = (...statuses: number[]): Record<string, object> =>
  Object.fromEntries(statuses.map((s) => [String(s), { description: 'Error', ...json(error) }]));
const param = (
  name: string,
  where: 'path' | 'query' | 'header',
  schema: object,
  required = where === 'path',
) => ({
  name,
  in: where,
  required,
  schema,
});

/** The document `GET /openapi.json` serves. */
export function openApiDocument(context: {
  readonly workflowTypes: ReadonlySet<string>;
  readonly entityTypes: ReadonlyMap<string, EntityDefinition>;
  readonly basePath: string;
  readonly maxBodyBytes: number;
}): object {
  const id = param('id', 'path', { type: 'string' });
  const idempotency = param('Idempotency-Key', 'header', { type: 'string', maxLength: 200 }, false);
  const accepted = {
    description: 'Accepted; poll the Location',
    headers: { Location: { schema: { type: 'string' } }, 'Retry-After': { schema: { type: 'integer' } } },
    ...json({ $ref: '#/components/schemas/Accepted' }),
  };
  const status = { description: 'The instance', ...json({ $ref: '#/components/schemas/WorkflowStatus' }) };
  const operations = [...context.entityTypes.values()].flatMap((d) => [...d.operations]);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Longhaul workflows and entities',
      version: '1',
      description: `Start-and-poll API. Bodies are JSON, at most ${context.maxBodyBytes} bytes.`,
    },
    servers: [{ url: context.basePath || '/' }],
    paths: {
      '/workflows/{type}': {
        post: {
          summary: 'Start a workflow (idempotent with Idempotency-Key)',
          parameters: [
            param('type', 'path', { type: 'string', enum: [...context.workflowTypes] }),
            idempotency,
          ],
          requestBody: { required: false, ...json() },
          responses: { '202': accepted, ...errors(400, 403, 404, 409, 413, 415) },
        },
      },
      '/workflows/{id}': {
        get: {
          summary: 'Status, and the result once completed',
          parameters: [id],
          responses: { '200': status, ...errors(403, 404) },
        },
      },
      '/workflows/{id}/result': {
        get: {
          summary: 'Long poll: waits up to `wait` for the instance to finish',
          parameters: [id, param('wait', 'query', { type: 'string', examples: ['10s', '30'] }, false)],
          responses: {
            '200': status,
            '202': {
              description: 'Not finished yet',
              ...json({ $ref: '#/components/schemas/WorkflowStatus' }),
            },
            ...errors(400, 403, 404),
          },
        },
      },
      '/workflows/{id}/signals/{name}': {
        post: {
          summary: 'Raise a signal (idempotent with Idempotency-Key)',
          parameters: [id, param('name', 'path', { type: 'string' }), idempotency],
          requestBody: { required: false, ...json() },
          responses: { '202': accepted, ...errors(400, 403, 404, 409, 413, 415) },
        },
      },
      '/workflows/{id}/cancel': {
        post: {
          summary: 'Request cancellation',
          parameters: [id],
          requestBody: { required: false, ...json({ $ref: '#/components/schemas/Reason' }) },
          responses: { '202': accepted, ...errors(400, 403, 404, 409) },
        },
      },
      '/workflows/{id}/terminate': {
        post: {
          summary: 'Terminate at once',
          parameters: [id],
          requestBody: { required: false, ...json({ $ref: '#/components/schemas/Reason' }) },
          responses: { '202': accepted, ...errors(400, 403, 404, 409) },
        },
      },
      '/entities/{type}/{key}': {
        get: {
          summary: "An entity's state",
          parameters: [
            param('type', 'path', { type: 'string', enum: [...context.entityTypes.keys()] }),
            param('key', 'path', { type: 'string' }),
          ],
          responses: { '200': { description: 'The entity', ...json() }, ...errors(403, 404) },
        },
        delete: {
          summary: 'Delete an entity (queued behind earlier operations)',
          parameters: [param('type', 'path', { type: 'string' }), param('key', 'path', { type: 'string' })],
          responses: { '202': { description: 'Delete requested', ...json() }, ...errors(403, 404) },
        },
      },
      '/entities/{type}/{key}/{operation}': {
        post: {
          summary:
            'Call an operation (mode=call, the default: waits for its result) or signal it (mode=signal: 202)',
          parameters: [
            param('type', 'path', { type: 'string', enum: [...context.entityTypes.keys()] }),
            param('key', 'path', { type: 'string' }),
            param('operation', 'path', { type: 'string', enum: [...new Set(operations)] }),
            param('mode', 'query', { type: 'string', enum: ['call', 'signal'] }, false),
            param('wait', 'query', { type: 'string' }, false),
            idempotency,
          ],
          requestBody: { required: false, ...json() },
          responses: {
            '200': { description: 'The operation returned', ...json() },
            '202': { description: 'Signalled', ...json() },
            '422': { description: 'The operation threw: its state changes were not kept', ...json(error) },
            ...errors(400, 403, 404, 413, 415, 504),
          },
        },
      },
    },
    components: {
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string' },
                message: { type: 'string' },
                field: { type: 'string' },
              },
            },
          },
        },
        Accepted: { type: 'object', properties: { id: { type: 'string' }, links: { type: 'object' } } },
        Reason: { type: 'object', properties: { reason: { type: 'string', maxLength: 1000 } } },
        WorkflowStatus: {
          type: 'object',
          required: ['id', 'type', 'status'],
          properties: {
            id: { type: 'string' },
            type: { type: 'string' },
            status: { type: 'string', enum: ['running', 'parked', 'completed', 'failed', 'terminated'] },
            result: {},
            failure: { type: 'object' },
          },
        },
      },
    },
  };
}
