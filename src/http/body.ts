/**
 * Reading a request body for the HTTP API: content type, size limit (413 as soon as the limit is
 * passed, before the rest is read), strict JSON (no `__proto__`/`constructor`/`prototype` keys,
 * bounded depth). Every refusal is an {@link HttpError} with a status, a code and the field.
 */
import { type IncomingMessage, type ServerResponse } from 'node:http';

/** A refused request: the JSON error response it becomes. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_DEPTH = 64;

/** True when the request says it carries a body (a length above 0, or chunked). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/**
 * The JSON body of a request, or `undefined` when it has none. Refuses a non-JSON content type
 * (415), a body over `limit` bytes (413, decided from `Content-Length` before reading, or as soon as
 * the bytes read pass it), invalid JSON (400 `invalid-json`) and forbidden keys (400 naming the path).
 */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  if (!hasBody(req)) return undefined;
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) {
    throw new HttpError(
      415,
      'unsupported-media-type',
      `The body must be JSON (Content-Type: application/json), got ${JSON.stringify(req.headers['content-type'] ?? '')}`,
      'content-type',
    );
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > limit) {
        req.off('data', onData);
        req.off('end', onEnd);
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => resolve(Buffer.concat(chunks).toString('utf8'));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', reject);
  });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HttpError(
      400,
      'invalid-json',
      `The body is not valid JSON: ${(error as Error).message}`,
      'body',
    );
  }
  checkKeys(value, 'body', 0);
  return value;
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'payload-too-large', `The body is over the limit of ${limit} bytes`, 'body', {
    limit,
  });
}

/** Refuses prototype-polluting keys and nesting deeper than 64, naming the path. */
function checkKeys(value: unknown, path: string, depth: number): void {
  if (value === null || typeof value !== 'object') return;
  if (depth > MAX_DEPTH)
    throw new HttpError(400, 'too-deep', `The body nests deeper than ${MAX_DEPTH} levels`, path);
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkKeys(item, `${path}[${i}]`, depth + 1));
    return;
  }
  for (const key of Object.keys(value)) {
    const at = `${path}.${key}`;
    if (FORBIDDEN.has(key))
      throw new HttpError(400, 'forbidden-key', `The key '${key}' is not allowed (at ${at})`, at);
    checkKeys((value as Record<string, unknown>)[key], at, depth + 1);
  }
}

/** Writes a JSON response. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/**
 * Writes an {@link HttpError} as `{ error: { code, message, field } }`. When the request body was
 * not read to its end (413, 415, or an error before reading), the connection is closed after the
 * response and the rest of the body is drained without being kept (so the client gets the answer).
 */
export function sendError(req: IncomingMessage, res: ServerResponse, error: HttpError): void {
  const unread = !req.readableEnded && hasBody(req);
  sendJson(
    res,
    error.status,
    {
      error: {
        code: error.code,
        message: error.message,
        ...(error.field !== undefined ? { field: error.field } : {}),
        ...error.extra,
      },
    },
    unread ? { connection: 'close' } : {},
  );
  if (unread) req.resume();
}
