import amqp, { type ChannelModel } from 'amqplib';
import { RabbitMqConnectionError, TransportClosedError } from './errors.js';
import { type BrokerUrl, type ResolvedRabbitMqOptions } from './options.js';

/** One open AMQP connection; a reconnection makes a new one with the next generation number. */
export interface LiveConnection {
  readonly model: ChannelModel;
  /** Counts connections opened by this manager: channels and delivery tags belong to one generation. */
  readonly generation: number;
  /** Resolves when this connection has closed, for whatever reason. */
  readonly closed: Promise<void>;
}

type State = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'failed' | 'closed';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
]);

/** Exponential backoff from `initialDelayMs`, capped at `maxDelayMs`, spread over its upper half ("equal jitter"). */
export function backoffDelay(
  attempt: number,
  limits: { readonly initialDelayMs: number; readonly maxDelayMs: number },
): number {
  const base = Math.min(
    limits.maxDelayMs,
    limits.initialDelayMs * 2 ** Math.min(Math.max(attempt, 1) - 1, 30),
  );
  return base / 2 + (Math.random() * base) / 2;
}

/** `decodeURIComponent`, or the text as it is when it holds a `%` that is not an escape. */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Whether `host` (a URL's host name) is this machine: `localhost`, `127.x.x.x` or `::1`. */
function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

/** Turns an amqplib connect failure into an error that names the problem, without the password. */
export function connectionErrorOf(
  error: unknown,
  options: ResolvedRabbitMqOptions,
  broker: BrokerUrl = options.url,
): RabbitMqConnectionError {
  const url = broker.reveal();
  const raw = error instanceof Error ? error.message : String(error);
  let detail = raw;
  for (const secret of new Set([url.password, safeDecode(url.password)])) {
    if (secret.length > 0) detail = detail.split(secret).join('***');
  }
  const code = (error as { code?: unknown } | null)?.code;
  const user = safeDecode(url.username) || 'guest';
  const vhost = safeDecode(url.pathname.slice(1)) || '/';
  const at = broker.redacted;
  if ((typeof code === 'string' && NETWORK_CODES.has(code)) || /ETIMEDOUT|ECONNREFUSED/.test(detail)) {
    return new RabbitMqConnectionError(
      'unreachable',
      `Cannot reach RabbitMQ at ${at} (${detail}): is the broker running, and are the host and port right?`,
      { cause: error },
    );
  }
  if (/ACCESS.REFUSED/.test(detail)) {
    return new RabbitMqConnectionError(
      'authentication',
      `RabbitMQ at ${at} refused the login of user '${user}': wrong user name or password` +
        (user === 'guest' && !isLoopback(url.hostname)
          ? ` (the 'guest' user may only connect from localhost: create a user for remote access)`
          : ''),
      { cause: error },
    );
  }
  if (/ConnectionOpenOk|NOT.ALLOWED|vhost/i.test(detail)) {
    return new RabbitMqConnectionError(
      'vhost',
      `RabbitMQ at ${at} refused virtual host '${vhost}' to user '${user}': it does not exist, ` +
        `or the user has no permission on it`,
      { cause: error },
    );
  }
  return new RabbitMqConnectionError(
    'handshake',
    `Cannot open a connection to RabbitMQ at ${at}: ${detail}`,
    {
      cause: error,
    },
  );
}

/**
 * Owns the AMQP connection: opens it with TCP `noDelay` and heartbeats, notices when the broker
 * drops it, and reconnects with exponential backoff and jitter. Users of a connection (publisher,
 * consumers) ask for {@link ConnectionManager.ready} and watch {@link LiveConnection.closed}.
 */
export class ConnectionManager {
  private state: State = 'idle';
  private live?: LiveConnection;
  private generation = 0;
  private opening?: Promise<LiveConnection>;
  private waiters: { resolve: (live: LiveConnection) => void; reject: (error: Error) => void }[] = [];
  private failure?: Error;
  private wake?: () => void;
  private reconnecting?: Promise<void>;
  /** The index in `urls` of the broker the live (or last) connection went to. */
  private connected = 0;
  /** Where the next connection attempt starts: the first URL, or the one after a lost node. */
  private nextBroker = 0;

  constructor(private readonly options: ResolvedRabbitMqOptions) {}

  /** The open connection, if there is one right now. */
  current(): LiveConnection | undefined {
    return this.live;
  }

  /** Opens the first connection; rejects with a {@link RabbitMqConnectionError} naming the problem. */
  start(): Promise<LiveConnection> {
    if (this.state === 'closed') return Promise.reject(new TransportClosedError());
    if (this.live) return Promise.resolve(this.live);
    if (this.state === 'reconnecting' || this.state === 'failed') return this.ready();
    if (!this.opening) {
      this.state = 'connecting';
      this.opening = this.open().then(
        (live) => {
          this.opening = undefined;
          return live;
        },
        (error: unknown) => {
          this.opening = undefined;
          if (this.state === 'connecting') this.state = 'idle';
          throw error;
        },
      );
    }
    return this.opening;
  }

  /** The open connection; waits while reconnecting; rejects once closed or given up. */
  ready(): Promise<LiveConnection> {
    switch (this.state) {
      case 'open':
        if (this.live) return Promise.resolve(this.live);
        break;
      case 'closed':
        return Promise.reject(new TransportClosedError());
      case 'failed':
        return Promise.reject(this.failure ?? new TransportClosedError());
      case 'idle':
      case 'connecting':
        return this.start();
      case 'reconnecting':
        break;
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** True once {@link close} was called. */
  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Stops reconnecting and closes the connection. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.wake?.();
    for (const waiter of this.waiters.splice(0)) waiter.reject(new TransportClosedError());
    await this.opening?.catch(() => undefined);
    await this.reconnecting;
    const live = this.live;
    this.live = undefined;
    if (live) await live.model.close().catch(() => undefined);
  }

  /**
   * Connects to the first broker that answers, starting at {@link nextBroker} (the first URL at
   * start; after a lost connection, the node after the lost one): a cluster's stopped node is
   * failed over, not waited for. With one URL, its error; with several, the last one's, naming all.
   */
  private async open(): Promise<LiveConnection> {
    const { options } = this;
    const { urls } = options;
    let model: ChannelModel | undefined;
    let failure: RabbitMqConnectionError | undefined;
    for (let tried = 0; tried < urls.length && model === undefined; tried++) {
      const index = (this.nextBroker + tried) % urls.length;
      const broker = urls[index] as BrokerUrl;
      const url = broker.reveal();
      url.searchParams.set('heartbeat', String(options.heartbeatSeconds));
      try {
        model = await amqp.connect(url.href, {
          ...options.tls(),
          noDelay: true,
          timeout: options.connectTimeoutMs,
          clientProperties: { connection_name: options.connectionName },
        });
        this.connected = index;
      } catch (error) {
        failure = connectionErrorOf(error, options, broker);
        if (urls.length > 1) {
          options.logger.warn('RabbitMQ node did not answer; trying the next', {
            url: broker.redacted,
            error: failure.message,
          });
        }
        if (this.isClosed) throw new TransportClosedError();
      }
    }
    if (model === undefined) {
      const last = failure as RabbitMqConnectionError;
      if (urls.length === 1) throw last;
      throw new RabbitMqConnectionError(
        last.problem,
        `${last.message} (none of the ${urls.length} brokers answered: ${urls.map((u) => u.redacted).join(', ')})`,
        { cause: last },
      );
    }
    if (this.state === 'closed') {
      await model.close().catch(() => undefined);
      throw new TransportClosedError();
    }
    let markClosed: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (markClosed = resolve));
    const live: LiveConnection = { model, generation: ++this.generation, closed };
    const { logger } = options;
    const at = urls[this.connected]?.redacted ?? options.safeUrl;
    model.on('error', (error: Error) =>
      logger.warn('RabbitMQ connection error', { url: at, error: error.message }),
    );
    model.on('blocked', (reason: string) =>
      logger.warn('RabbitMQ blocked the connection (resource alarm); publishes wait', { reason }),
    );
    model.on('unblocked', () => logger.info('RabbitMQ unblocked the connection'));
    model.on('close', (error?: Error) => {
      markClosed();
      this.onClose(live, error);
    });
    this.live = live;
    this.state = 'open';
    return live;
  }

  private onClose(live: LiveConnection, error: Error | undefined): void {
    if (this.live !== live) return;
    this.live = undefined;
    if (this.state === 'closed') return;
    this.options.logger.warn('RabbitMQ connection lost; reconnecting', {
      url: this.options.urls[this.connected]?.redacted ?? this.options.safeUrl,
      error: error?.message ?? 'closed by the broker',
    });
    this.state = 'reconnecting';
    this.nextBroker = (this.connected + 1) % this.options.urls.length;
    this.reconnecting = this.reconnect().finally(() => (this.reconnecting = undefined));
  }

  private async reconnect(): Promise<void> {
    const { maxAttempts } = this.options.reconnect;
    let last: unknown;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      await this.pause(this.delayBefore(attempt));
      if (this.isClosed) return;
      try {
        const live = await this.open();
        this.options.logger.info('RabbitMQ connection re-established', {
          attempt,
          url: this.options.urls[this.connected]?.redacted,
        });
        for (const waiter of this.waiters.splice(0)) waiter.resolve(live);
        return;
      } catch (error) {
        if (this.isClosed) return;
        last = error;
        this.options.logger.warn('RabbitMQ reconnection attempt failed', {
          attempt,
          error: (error as Error).message,
        });
      }
    }
    this.state = 'failed';
    this.failure = new TransportClosedError(
      `Gave up reconnecting to RabbitMQ after ${maxAttempts} attempts`,
      {
        cause: last,
      },
    );
    this.options.logger.error('RabbitMQ reconnection gave up', { attempts: maxAttempts });
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure);
  }

  private delayBefore(attempt: number): number {
    return backoffDelay(attempt, this.options.reconnect);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
