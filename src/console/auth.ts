/**
 * Who may use the console. Loopback by default; with an access token, every request must carry it
 * (an `Authorization: Bearer` header, or the cookie set by opening `/?token=…` once or by the login
 * form). Actions (POST) must also come from the console's own pages: a cross-site `Origin` or
 * `Sec-Fetch-Site` is refused, and so is a `Host` the console does not answer to (DNS rebinding).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { type IncomingMessage } from 'node:http';
import { HttpError } from './http.js';

/** The cookie that carries the token after a login. */
export const TOKEN_COOKIE = 'longhaul_console_token';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Constant-time comparison of a presented token with the expected one. */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  return timingSafeEqual(digest(presented), digest(expected));
}

/** A cookie's value from the request, if present. */
export function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) {
      try {
        return decodeURIComponent(rest.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The token a request presents (bearer header first, then the cookie). */
export function presentedToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header?.toLowerCase().startsWith('bearer ')) return header.slice(7).trim();
  return cookie(req, TOKEN_COOKIE);
}

/** The `Set-Cookie` value that keeps `token` for the browser session. */
export function tokenCookie(token: string): string {
  return `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`;
}

/**
 * Throws a 403 (`forbidden-host`) when the `Host` header names another host than the ones the
 * console answers to: a page on another site that rebinds its name to 127.0.0.1 cannot reach it.
 */
export function checkHost(req: IncomingMessage, allowed: ReadonlySet<string>): void {
  if (allowed.size === 0) return;
  const host = (req.headers.host ?? '').toLowerCase();
  if (!allowed.has(host)) {
    throw new HttpError(403, 'forbidden-host', `host: the console does not answer to '${host}'`);
  }
}

/**
 * Throws a 403 (`forbidden-origin`) for a state-changing request sent by another site's page:
 * an `Origin` that is not the console's own, or `Sec-Fetch-Site: cross-site`.
 */
export function checkSameOrigin(req: IncomingMessage): void {
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') {
    throw new HttpError(403, 'forbidden-origin', 'origin: actions are accepted from the console itself only');
  }
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let host: string;
  try {
    host = new URL(origin).host.toLowerCase();
  } catch {
    throw new HttpError(403, 'forbidden-origin', `origin: '${origin}' is not a URL`);
  }
  if (host !== (req.headers.host ?? '').toLowerCase()) {
    throw new HttpError(403, 'forbidden-origin', `origin: '${origin}' is not the console's`);
  }
}
