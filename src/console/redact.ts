/**
 * No credential is ever shown: connection strings lose their password (and token-like query
 * parameters) before the console prints them, and the same applies to any text that quotes one
 * (error messages, headers).
 */

const SECRET_PARAMS = /^(password|pass|pwd|secret|token|access[_-]?token|api[_-]?key|sig|signature)$/i;

/** A URL with its password (and secret-looking query parameters) replaced by `***`. */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return redactText(url);
  }
  if (parsed.password) parsed.password = '***';
  for (const key of [...parsed.searchParams.keys()]) {
    if (SECRET_PARAMS.test(key)) parsed.searchParams.set(key, '***');
  }
  // URL keeps '***' percent-encoded in the userinfo part: show it plainly.
  return parsed.toString().replace(/%2A%2A%2A/g, '***');
}

/**
 * Text with the password of every `scheme://user:password@` it contains replaced by `***`, and
 * `password=`, `token=`-style parameters masked.
 */
export function redactText(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@/\s]*)@/gi, '$1***@')
    .replace(
      /(\b(?:password|pass|pwd|secret|token|access_token|api_key|apikey|sig)=)([^&\s;)'"<]+)/gi,
      '$1***',
    );
}
