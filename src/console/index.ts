/**
 * `longhaul/console`: the operations web console, a subpath of its own so the core stays small.
 * `startConsole` serves it from a `node:http` server; `longhaul console` (the CLI) and
 * `npm run demo -- --console` start it for you.
 * @example
 * ```ts
 * import { startConsole, storeHealth } from 'longhaul/console';
 * const server = await startConsole({ operations, endpoints: ['shop'], health: storeHealth({ sagas: store }) });
 * console.log(`Longhaul console on ${server.url}`);
 * ```
 */
export { startConsole, type ConsoleServer } from './server.js';
export {
  type ConsoleOptions,
  type ConsoleSources,
  type HealthProbe,
  isLoopback,
  resolveConsoleOptions,
} from './options.js';
export { storeHealth } from './health.js';
export { redactText, redactUrl } from './redact.js';
export { HttpError } from './http.js';
export { connectConsole, type ConsoleConnection, type ConsoleConnectionOptions } from './connect.js';
