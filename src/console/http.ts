/** Request and response helpers of the console's `node:http` server. */
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { type SafeHtml } from './html.js';
import { redactText } from './redact.js';

/**
 * A request the console refuses or could not serve: the status, a stable `code` (`bad-request`,
 * `unauthorized`, `read-only`, `not-found`, `forbidden-origin`…) and a message. JSON requests get
 * `{ error: { code, message } }`; pages get the message in the layout.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** HTTP statuses of the operations API's error codes; other codes are 500. */
const STATUS_OF_CODE: Record<string, number> = {
  'invalid-query': 400,
  'invalid-reset': 400,
  'invalid-option': 400,
  'payload-too-large': 413,
  'not-found': 404,
  'not-finished': 409,
  completed: 409,
  'not-a-saga': 400,
  'not-a-workflow': 400,
  unavailable: 501,
};

/**
 * The {@link HttpError} for anything a handler threw: an `HttpError` as it is, an error with a
 * known `code` (an operations-API refusal) with its status and code, anything else a 500.
 */
export function httpErrorOf(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const text = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string') {
    const status = STATUS_OF_CODE[code] ?? (code.startsWith('invalid') ? 400 : 500);
    return new HttpError(status, code, text);
  }
  return new HttpError(500, 'internal', text);
}

/** A 400 naming the bad field. */
export function badRequest(field: string, message: string): HttpError {
  return new HttpError(400, 'bad-request', `${field}: ${message}`);
}

/** Headers every response carries: no caching, no framing, no outside resources. */
const SECURITY_HEADERS: Record<string, string> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

/** Sends a JSON body. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_key, value: unknown) =>
    typeof value === 'string' ? redactText(value) : value,
  );
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8' });
  res.end(text);
}

/** Sends a page. */
export function sendHtml(res: ServerResponse, status: number, page: SafeHtml): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html>\n${redactText(page.text)}`);
}

/** Sends a static asset. */
export function sendAsset(res: ServerResponse, type: string, body: string): void {
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'max-age=300' });
  res.end(body);
}

/** Sends a 303 redirect (after a form post, to the page that shows the outcome). */
export function redirect(res: ServerResponse, location: string, headers: Record<string, string> = {}): void {
  res.writeHead(303, { ...SECURITY_HEADERS, ...headers, location });
  res.end();
}

/** Whether the request is for the JSON API (an `/api/` path): its errors are JSON too. */
export function wantsJson(path: string): boolean {
  return path.startsWith('/api/');
}

/** The request body, at most `limit` bytes (else a 413 with code `too-large`). */
export async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > limit) throw new HttpError(413, 'too-large', `The request body is over ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The fields of a form post (`application/x-www-form-urlencoded`) or a JSON object body; a body
 * that is neither is a 400 with code `bad-request`.
 */
export async function readFields(req: IncomingMessage): Promise<Record<string, string | string[]>> {
  const text = await readBody(req);
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
  if (text.trim() === '') return {};
  if (type === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'bad-request', 'body: not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new HttpError(400, 'bad-request', 'body: expected a JSON object');
    }
    const fields: Record<string, string | string[]> = {};
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value === 'string') fields[key] = value;
      else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) fields[key] = value;
      else if (typeof value === 'number' || typeof value === 'boolean') fields[key] = String(value);
      // A JSON value (a signal's payload) travels as its text, parsed again by the field's reader.
      else if (typeof value === 'object' && value !== null) fields[key] = JSON.stringify(value);
      else
        throw new HttpError(400, 'bad-request', `${key}: expected a string, a number or a list of strings`);
    }
    return fields;
  }
  if (type === 'application/x-www-form-urlencoded' || type === '') {
    const fields: Record<string, string | string[]> = {};
    for (const [key, value] of new URLSearchParams(text)) {
      const had = fields[key];
      fields[key] = had === undefined ? value : [...(Array.isArray(had) ? had : [had]), value];
    }
    return fields;
  }
  throw new HttpError(415, 'unsupported-media-type', `content-type: expected a form or JSON, got '${type}'`);
}

/** One string field, required unless `optional`. */
export function field(fields: Record<string, string | string[]>, name: string, optional?: false): string;
export function field(
  fields: Record<string, string | string[]>,
  name: string,
  optional: true,
): string | undefined;
export function field(
  fields: Record<string, string | string[]>,
  name: string,
  optional = false,
): string | undefined {
  const value = fields[name];
  if (Array.isArray(value)) throw badRequest(name, 'given more than once');
  if (value === undefined || value.trim() === '') {
    if (optional) return undefined;
    throw badRequest(name, 'required');
  }
  return value;
}
