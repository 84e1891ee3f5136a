/** The console server's options, with their defaults and their validation. */
import { ConfigurationError } from '../errors.js';
import { type OperationsApi } from '../operations/api.js';
import { type Clock, systemClock } from '../util/clock.js';
import { type Logger, silentLogger } from '../util/logger.js';
import { type ReadingsOptions } from './readings.js';

/**
 * Readings the overview shows besides instance counts: the outbox's oldest pending entry and the
 * timeout scheduler's lag. Build one from the stores with `storeHealth`.
 */
export interface HealthProbe {
  /** When the oldest entry still in any outbox was committed, if any. */
  oldestPendingOutbox(): Promise<Date | undefined>;
  /** The due time of the earliest timeout not yet delivered, if any (a past one means lag). */
  nextDueTimeout(): Promise<Date | undefined>;
}

/** What the connection strings were, for the overview (shown with passwords redacted). */
export interface ConsoleSources {
  readonly amqp?: string;
  readonly mongo?: string;
  readonly database?: string;
}

/** Options of {@link startConsole}. */
export interface ConsoleOptions {
  /** The operations client the console reads and steers through (the CLI uses the same). */
  readonly operations: OperationsApi;
  /**
   * The endpoints whose error queues the console lists. Any endpoint's queue can still be opened
   * at `/errors/<endpoint>`. @defaultValue []
   */
  readonly endpoints?: readonly string[];
  /** Outbox and timeout readings for the overview. @defaultValue none (the cards say "not available") */
  readonly health?: HealthProbe;
  /** The interface to listen on. @defaultValue '127.0.0.1' (loopback only) */
  readonly host?: string;
  /** The port; 0 picks a free one (see `ConsoleServer.url`). @defaultValue 8240 */
  readonly port?: number;
  /**
   * An access token every request must carry (`Authorization: Bearer …`, or open
   * `/?token=…` once in a browser). Required when `host` is not a loopback address.
   * @defaultValue none (loopback only)
   */
  readonly token?: string;
  /** Refuse every action (403, code `read-only`); pages hide the buttons. @defaultValue false */
  readonly readOnly?: boolean;
  /** The header's title. @defaultValue 'Longhaul console' */
  readonly title?: string;
  /** Shown on the overview with passwords redacted. @defaultValue none */
  readonly sources?: ConsoleSources;
  /** Who actions are recorded as (`by`). @defaultValue 'console' */
  readonly operator?: string;
  /** The clock for ages and lags (the demo's is virtual). @defaultValue the system clock */
  readonly clock?: Clock;
  /** @defaultValue silent */
  readonly logger?: Logger;
  /** How fresh the overview's counts are kept (see `ReadingsCache`). @defaultValue 2 s, a 1 s wait */
  readonly readings?: ReadingsOptions;
}

/** {@link ConsoleOptions} with defaults applied. */
export interface ResolvedConsoleOptions extends Required<
  Omit<ConsoleOptions, 'token' | 'health' | 'sources' | 'readings'>
> {
  readonly readings?: ReadingsOptions;
  readonly token?: string;
  readonly health?: HealthProbe;
  readonly sources: ConsoleSources;
}

/** Whether `host` is a loopback address or name. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Applies defaults and validates; throws a {@link ConfigurationError} naming the bad field. */
export function resolveConsoleOptions(options: ConsoleOptions): ResolvedConsoleOptions {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8240;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ConfigurationError('port', `expected an integer from 0 to 65535, got ${String(port)}`);
  }
  if (options.token !== undefined && options.token.length < 8) {
    throw new ConfigurationError('token', 'an access token needs at least 8 characters');
  }
  if (!isLoopback(host) && options.token === undefined) {
    throw new ConfigurationError(
      'host',
      `listening on '${host}' (not loopback) needs an access token (option token / --token)`,
    );
  }
  for (const endpoint of options.endpoints ?? []) {
    if (endpoint.trim() === '' || endpoint.includes('/')) {
      throw new ConfigurationError('endpoints', `'${endpoint}' is not an endpoint name`);
    }
  }
  return {
    operations: options.operations,
    endpoints: [...new Set(options.endpoints ?? [])],
    health: options.health,
    host,
    port,
    token: options.token,
    readOnly: options.readOnly ?? false,
    title: options.title ?? 'Longhaul console',
    sources: options.sources ?? {},
    operator: options.operator ?? 'console',
    clock: options.clock ?? systemClock,
    logger: options.logger ?? silentLogger,
    ...(options.readings ? { readings: checkReadings(options.readings) } : {}),
  };
}

function checkReadings(readings: ReadingsOptions): ReadingsOptions {
  for (const key of ['minAgeMs', 'waitMs'] as const) {
    const value = readings[key];
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      throw new ConfigurationError(`readings.${key}`, `expected a number of ms >= 0, got ${String(value)}`);
    }
  }
  return readings;
}
