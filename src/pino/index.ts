/**
 * The pino adapter of the `Logger` port, imported from `longhaul/pino` (pino is an optional peer
 * dependency; the core never loads it).
 * @example
 * ```ts
 * import pino from 'pino';
 * import { pinoLogger } from 'longhaul/pino';
 * const endpoint = new Endpoint({ name: 'shop', logger: pinoLogger(pino({ level: 'info' })) });
 * ```
 */
import { type Logger } from '../util/logger.js';

/** The part of a pino logger the adapter uses (a pino `Logger` or one of its children). */
export interface PinoLike {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  child(bindings: Record<string, unknown>): PinoLike;
}

/**
 * A `Logger` writing through pino: the message as pino's `msg`, the fields as the record's own
 * properties (trace and span ids included when the endpoint adds them), under a child logger
 * bound to `{ name: 'longhaul' }` unless `bindings` says otherwise.
 */
export function pinoLogger(pino: PinoLike, bindings: Record<string, unknown> = { name: 'longhaul' }): Logger {
  const target = Object.keys(bindings).length > 0 ? pino.child(bindings) : pino;
  return {
    debug: (message, fields) => target.debug(fields ?? {}, message),
    info: (message, fields) => target.info(fields ?? {}, message),
    warn: (message, fields) => target.warn(fields ?? {}, message),
    error: (message, fields) => target.error(fields ?? {}, message),
  };
}
