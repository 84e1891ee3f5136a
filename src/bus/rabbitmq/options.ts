import { type ConnectionOptions } from 'node:tls';
import { ConfigurationError } from '../../errors.js';
import { type Duration, toMillis } from '../../util/duration.js';
import { consoleLogger, type Logger } from '../../util/logger.js';

/**
 * The RabbitMQ queue type of the endpoint, error and retry queues.
 * - `classic`: the default. Works on every RabbitMQ version, cheapest on a single node.
 * - `quorum`: replicated (Raft) queues for clusters; needs RabbitMQ 3.10 or later (message TTL and
 *   at-least-once dead-lettering on quorum queues).
 *
 * A queue keeps the type it was first declared with: switching an existing deployment means
 * draining and deleting its queues (the broker refuses the redeclaration, and start fails saying so).
 */
export type QueueType = 'classic' | 'quorum';

/** Reconnection after the broker dropped the connection. */
export interface RabbitMqReconnectOptions {
  /** The wait before the first attempt; it doubles with each failed attempt. @defaultValue '100ms' */
  initialDelay?: Duration;
  /** The longest wait between attempts (before jitter spreads it over its upper half). @defaultValue '30s' */
  maxDelay?: Duration;
  /** Attempts before giving up (publishes and consumers then fail); `Infinity` never gives up. @defaultValue Infinity */
  maxAttempts?: number;
}

/** Options of the RabbitMQ transport; every field has a default. */
export interface RabbitMqTransportOptions {
  /**
   * The broker: `amqp[s]://user:password@host:port/vhost` (a `/` vhost is written `%2f`, or left out).
   * The password never appears in errors or logs.
   *
   * Several URLs name the nodes of one cluster: the transport connects to the first that answers,
   * in the order given, and after losing a connection it tries the node after the one it lost
   * first (then the others), so a stopped node is failed over instead of waited for. Queues
   * survive a node stopping only as quorum queues (`queueType: 'quorum'`).
   * @defaultValue 'amqp://guest:guest@localhost:5672'
   */
  url?: string | readonly string[];
  /**
   * Prepended to every exchange and queue name, so several systems (or test runs) share one vhost.
   * Letters, digits and `._:-`.
   * @defaultValue '' (no prefix)
   */
  prefix?: string;
  /** The durable topic exchange events are published to (routing key = message type), after the prefix. @defaultValue 'longhaul.events' */
  exchange?: string;
  /** The type of the queues this transport declares; see {@link QueueType}. @defaultValue 'classic' */
  queueType?: QueueType;
  /**
   * Deliveries a consumer may hold unacknowledged (handlers in flight never exceed it). Equal to
   * the concurrency, nothing waits in the client: a graceful stop requeues nothing and competing
   * processes share the queue evenly; raise it for fast handlers, deliveries then queue in the
   * client until a handler is free.
   * @defaultValue the consumer's concurrency
   */
  prefetch?: number;
  /** Prefetch per endpoint name, overriding `prefetch`. @defaultValue {} */
  endpointPrefetch?: Readonly<Record<string, number>>;
  /** The AMQP heartbeat (whole seconds; `0` disables it). A dead peer is noticed after about twice this. @defaultValue '30s' */
  heartbeat?: Duration;
  /** The time allowed to open the TCP connection and complete the AMQP handshake. @defaultValue '10s' */
  connectTimeout?: Duration;
  /** Reconnection with exponential backoff and jitter. @defaultValue see {@link RabbitMqReconnectOptions} */
  reconnect?: RabbitMqReconnectOptions;
  /**
   * The longest a publish or send may take, waiting for the connection, flow control and the
   * broker's confirm included; past it the promise rejects (the message may still arrive).
   * @defaultValue '30s'
   */
  publishTimeout?: Duration;
  /** The connection name the broker shows (management UI, `rabbitmqctl list_connections`). @defaultValue 'longhaul-<pid>' */
  connectionName?: string;
  /** Where connection loss, reconnection and delivery problems are logged. @defaultValue console at level `info` */
  logger?: Logger;
  /**
   * TLS settings for an `amqps://` URL, passed to Node's `tls.connect` (a private CA, a client
   * certificate for mutual TLS, the server name to verify). Only allowed with `amqps://`.
   * @defaultValue none: Node's trusted CAs, the URL's host as the server name
   */
  tls?: RabbitMqTlsOptions;
}

/** The TLS settings {@link RabbitMqTransportOptions.tls} passes through. */
export type RabbitMqTlsOptions = Pick<
  ConnectionOptions,
  | 'ca'
  | 'cert'
  | 'key'
  | 'pfx'
  | 'passphrase'
  | 'servername'
  | 'rejectUnauthorized'
  | 'minVersion'
  | 'ciphers'
>;

/** {@link RabbitMqTransportOptions} validated, with defaults applied and durations in milliseconds. */
export interface ResolvedRabbitMqOptions {
  /** The first of {@link urls}. */
  readonly url: BrokerUrl;
  /** The brokers to connect to, in order (one, or the nodes of a cluster). */
  readonly urls: readonly BrokerUrl[];
  /** The first URL with the password replaced by `***`, for messages and logs. */
  readonly safeUrl: string;
  readonly prefix: string;
  readonly exchange: string;
  readonly queueType: QueueType;
  readonly prefetch: number | undefined;
  readonly endpointPrefetch: Readonly<Record<string, number>>;
  readonly heartbeatSeconds: number;
  readonly connectTimeoutMs: number;
  readonly reconnect: {
    readonly initialDelayMs: number;
    readonly maxDelayMs: number;
    readonly maxAttempts: number;
  };
  readonly publishTimeoutMs: number;
  readonly connectionName: string;
  readonly logger: Logger;
  /** Kept out of `inspect`/`JSON` output: it may hold a private key. */
  readonly tls: () => RabbitMqTlsOptions | undefined;
}

const PREFIX = /^[A-Za-z0-9_.:-]{0,100}$/;
const EXCHANGE = /^[A-Za-z0-9_.:-]{1,120}$/;
/** The largest prefetch AMQP can carry (a 16-bit field). */
const MAX_PREFETCH = 65_535;

/** `url` with its password replaced by `***` (or the input's scheme and host when it does not parse). */
export function redactUrl(url: string | URL): string {
  try {
    const parsed = typeof url === 'string' ? new URL(url) : new URL(url.href);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.href;
  } catch {
    return '<unparsable URL>';
  }
}

/**
 * The broker URL, kept so that printing it (`String`, `JSON.stringify`, `console.log`) shows the
 * password as `***`; only {@link BrokerUrl.reveal} gives the real one, to connect.
 */
export class BrokerUrl {
  readonly #href: string;
  /** The URL with its password replaced by `***`. */
  readonly redacted: string;

  constructor(url: URL) {
    this.#href = url.href;
    this.redacted = redactUrl(url);
  }

  /** A copy of the URL, password included. */
  reveal(): URL {
    return new URL(this.#href);
  }

  toString(): string {
    return this.redacted;
  }

  toJSON(): string {
    return this.redacted;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `BrokerUrl(${this.redacted})`;
  }
}

function positiveDuration(value: Duration | undefined, field: string, fallback: Duration): number {
  if (value !== undefined && typeof value !== 'number' && typeof value !== 'string') {
    throw new ConfigurationError(field, `expected a duration such as '30s', got ${JSON.stringify(value)}`);
  }
  const ms = toMillis(value ?? fallback, field);
  if (ms <= 0 || !Number.isFinite(ms)) {
    throw new ConfigurationError(
      field,
      `expected a finite duration above zero, got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}

function prefetchOf(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_PREFETCH) {
    throw new ConfigurationError(
      field,
      `expected an integer from 1 to ${MAX_PREFETCH}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** The `url` option as a list: one URL, or the nodes of a cluster (at least one). */
function parseUrls(value: unknown): URL[] {
  if (!Array.isArray(value)) return [parseUrl(value, 'url')];
  if (value.length === 0)
    throw new ConfigurationError('url', 'expected at least one amqp:// or amqps:// URL');
  return value.map((item, i) => parseUrl(item, `url[${i}]`));
}

function parseUrl(value: unknown, field: string): URL {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ConfigurationError(field, `expected an amqp:// or amqps:// URL, got ${typeof value}`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigurationError(field, `cannot parse '${redactUrl(value)}' as a URL`);
  }
  if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:') {
    throw new ConfigurationError(
      field,
      `expected the amqp: or amqps: scheme, got '${url.protocol}' in ${redactUrl(url)}`,
    );
  }
  if (url.hostname === '') throw new ConfigurationError(field, `no host in ${redactUrl(url)}`);
  return url;
}

function resolveReconnect(value: RabbitMqReconnectOptions | undefined): ResolvedRabbitMqOptions['reconnect'] {
  if (value !== undefined && (value === null || typeof value !== 'object')) {
    throw new ConfigurationError('reconnect', `expected an object, got ${JSON.stringify(value)}`);
  }
  const initialDelayMs = positiveDuration(value?.initialDelay, 'reconnect.initialDelay', '100ms');
  const maxDelayMs = positiveDuration(value?.maxDelay, 'reconnect.maxDelay', '30s');
  if (maxDelayMs < initialDelayMs) {
    throw new ConfigurationError(
      'reconnect.maxDelay',
      `must not be below reconnect.initialDelay (${initialDelayMs} ms)`,
    );
  }
  const maxAttempts = value?.maxAttempts ?? Infinity;
  if (
    typeof maxAttempts !== 'number' ||
    maxAttempts < 1 ||
    (maxAttempts !== Infinity && !Number.isInteger(maxAttempts))
  ) {
    throw new ConfigurationError(
      'reconnect.maxAttempts',
      `expected an integer >= 1 or Infinity, got ${JSON.stringify(maxAttempts)}`,
    );
  }
  return { initialDelayMs, maxDelayMs, maxAttempts };
}

function resolveHeartbeat(value: Duration | undefined): number {
  if (value !== undefined && typeof value !== 'number' && typeof value !== 'string') {
    throw new ConfigurationError(
      'heartbeat',
      `expected a duration such as '30s', got ${JSON.stringify(value)}`,
    );
  }
  const ms = toMillis(value ?? '30s', 'heartbeat');
  if (ms !== 0 && (ms < 1000 || ms > 65_535_000 || !Number.isFinite(ms))) {
    throw new ConfigurationError(
      'heartbeat',
      `expected 0 (off) or from 1s to 65535s, got ${JSON.stringify(value)}`,
    );
  }
  return Math.round(ms / 1000);
}

/** Validates the options once (the transport's constructor calls it); the error names the bad field. */
export function resolveRabbitMqOptions(options: RabbitMqTransportOptions = {}): ResolvedRabbitMqOptions {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('options', 'expected an object');
  }
  const urls = parseUrls(options.url ?? 'amqp://guest:guest@localhost:5672');
  const url = urls[0] as URL;
  const prefix = options.prefix ?? '';
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw new ConfigurationError(
      'prefix',
      `expected up to 100 letters, digits or '._:-', got ${JSON.stringify(prefix)}`,
    );
  }
  const exchange = options.exchange ?? 'longhaul.events';
  if (typeof exchange !== 'string' || !EXCHANGE.test(exchange) || exchange.startsWith('amq.')) {
    throw new ConfigurationError(
      'exchange',
      `expected 1–120 letters, digits or '._:-', not starting with 'amq.', got ${JSON.stringify(exchange)}`,
    );
  }
  const queueType = options.queueType ?? 'classic';
  if (queueType !== 'classic' && queueType !== 'quorum') {
    throw new ConfigurationError(
      'queueType',
      `expected 'classic' or 'quorum', got ${JSON.stringify(queueType)}`,
    );
  }
  const prefetch = options.prefetch === undefined ? undefined : prefetchOf(options.prefetch, 'prefetch');
  const endpointPrefetch: Record<string, number> = {};
  for (const [endpoint, value] of Object.entries(options.endpointPrefetch ?? {})) {
    endpointPrefetch[endpoint] = prefetchOf(value, `endpointPrefetch['${endpoint}']`);
  }
  const connectionName = options.connectionName ?? `longhaul-${process.pid}`;
  if (typeof connectionName !== 'string' || connectionName.length === 0 || connectionName.length > 255) {
    throw new ConfigurationError(
      'connectionName',
      `expected 1–255 characters, got ${JSON.stringify(connectionName)}`,
    );
  }
  const tls = options.tls;
  if (tls !== undefined) {
    if (typeof tls !== 'object' || tls === null)
      throw new ConfigurationError('tls', 'expected an object of TLS options');
    if (url.protocol !== 'amqps:') throw new ConfigurationError('tls', 'TLS options need an amqps:// URL');
  }
  const logger = options.logger ?? consoleLogger('info');
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    if (typeof logger?.[level] !== 'function') {
      throw new ConfigurationError('logger', `expected a Logger with a ${level}() method`);
    }
  }
  return {
    url: new BrokerUrl(url),
    urls: urls.map((u) => new BrokerUrl(u)),
    safeUrl: redactUrl(url),
    prefix,
    exchange,
    queueType,
    prefetch,
    endpointPrefetch,
    heartbeatSeconds: resolveHeartbeat(options.heartbeat),
    connectTimeoutMs: positiveDuration(options.connectTimeout, 'connectTimeout', '10s'),
    reconnect: resolveReconnect(options.reconnect),
    publishTimeoutMs: positiveDuration(options.publishTimeout, 'publishTimeout', '30s'),
    connectionName,
    logger,
    tls: () => tls,
  };
}
