import {
  type Collection,
  type Db,
  type Document,
  type IndexDescription,
  MongoClient,
  type MongoClientOptions,
  type WriteConcernSettings,
} from 'mongodb';
import { ConfigurationError } from '../../errors.js';
import { type Duration, toMillis } from '../../util/duration.js';
import { consoleLogger, type Logger } from '../../util/logger.js';
import { installDriverGuard } from './driver-guard.js';
import { MongoStoreUnavailableError } from './errors.js';

/**
 * Options shared by the MongoDB stores. Give either `client` (yours: the store never closes it) or
 * `url` (the store creates the client and closes it in `close()`).
 */
export interface MongoStoreOptions {
  /** A client to use; the store neither configures nor closes it. @defaultValue none: give `url` */
  client?: MongoClient;
  /** A connection string (`mongodb://…` or `mongodb+srv://…`) the store connects with. @defaultValue none: give `client` */
  url?: string;
  /** The database holding the store's collections. @defaultValue 'longhaul' */
  database?: string;
  /** Prefixed to the store's collection names (letters, digits, `_`, `.`, `-`). @defaultValue 'longhaul_' */
  collectionPrefix?: string;
  /** How long `init()` waits for a server before failing (only when the store creates the client). @defaultValue '5s' */
  serverSelectionTimeout?: Duration;
  /** More driver options (only when the store creates the client). @defaultValue {} */
  clientOptions?: MongoClientOptions;
  /** Where the store reports what it skipped (corrupt documents). @defaultValue console at level `info` */
  logger?: Logger;
  /**
   * The write concern of every write the store makes (saga commits, outbox marks, timeout leases),
   * set on the store's collection, so it applies whether the store or you created the client.
   * `docs/production.md` says what each choice can lose on a primary failover.
   * @defaultValue `{ w: 'majority' }`: a write is acknowledged once a majority of the replica set
   * has it, so a failover cannot roll it back
   */
  writeConcern?: StoreWriteConcern;
}

/** The write concern of a MongoDB store (see {@link MongoStoreOptions.writeConcern}). */
export interface StoreWriteConcern {
  /**
   * How many members must have the write before it is acknowledged: `'majority'` or a whole number
   * >= 1 (`1`: the primary alone, which a failover can roll back). `0` (unacknowledged) is refused:
   * the stores decide with conditional writes and must see their result.
   * @defaultValue 'majority'
   */
  readonly w?: number | 'majority';
  /** Whether the write must also be in the on-disk journal before it is acknowledged. @defaultValue the server's default (`writeConcernMajorityJournalDefault`, true) */
  readonly journal?: boolean;
  /** How long to wait for `w` members before the write fails (the write may still apply). @defaultValue none: wait */
  readonly timeout?: Duration;
}

const DATABASE = /^[^/\\. "$*<>:|?\0]{1,63}$/;
const COLLECTION = /^[A-Za-z0-9_.-]{1,120}$/;
const PREFIX = /^[A-Za-z0-9_.-]{0,64}$/;

/**
 * One store's client, database and collection name, validated once at construction; connects on
 * `connect()` with an error that names the host but never the password.
 * @internal
 */
export class MongoConnection {
  readonly client: MongoClient;
  readonly db: Db;
  readonly collectionName: string;
  readonly logger: Logger;
  /** The hosts, for messages (`host:port,…`). */
  readonly hosts: string;
  /** The write concern sent with every write of the store's collection. */
  readonly writeConcern: WriteConcernSettings;
  private readonly owned: boolean;
  private connecting?: Promise<void>;
  private closed = false;

  /** What logs and `util.inspect` show: hosts, database and collection, never the credentials. */
  describe(): string {
    return `mongodb://${this.hosts}/${this.db.databaseName}.${this.collectionName}`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `MongoConnection(${this.describe()})`;
  }

  toJSON(): string {
    return this.describe();
  }

  constructor(options: MongoStoreOptions & { collection?: string }, defaultCollection: string) {
    if (typeof options !== 'object' || options === null) {
      throw new ConfigurationError('options', 'expected an object with `url` or `client`');
    }
    const database = options.database ?? 'longhaul';
    if (typeof database !== 'string' || !DATABASE.test(database)) {
      throw new ConfigurationError(
        'database',
        `expected 1–63 characters without / \\ . " $ * < > : | ? or spaces, got ${JSON.stringify(database)}`,
      );
    }
    const prefix = options.collectionPrefix ?? 'longhaul_';
    if (typeof prefix !== 'string' || !PREFIX.test(prefix) || prefix.startsWith('system.')) {
      throw new ConfigurationError(
        'collectionPrefix',
        `expected up to 64 letters, digits, '_', '.' or '-' (not 'system.'), got ${JSON.stringify(prefix)}`,
      );
    }
    const collection = options.collection ?? `${prefix}${defaultCollection}`;
    if (typeof collection !== 'string' || !COLLECTION.test(collection) || collection.startsWith('system.')) {
      throw new ConfigurationError(
        'collection',
        `expected 1–120 letters, digits, '_', '.' or '-' (not 'system.'), got ${JSON.stringify(collection)}`,
      );
    }
    const logger = options.logger ?? consoleLogger('info');
    if (typeof logger?.warn !== 'function') {
      throw new ConfigurationError('logger', 'expected a Logger (debug, info, warn, error)');
    }
    // A network close at the wrong moment can hang a driver command forever (driver-guard.ts).
    installDriverGuard();
    this.writeConcern = writeConcernOf(options.writeConcern);
    this.collectionName = collection;
    this.logger = logger;
    this.owned = options.client === undefined;
    this.client = this.owned ? createClient(options) : checkClient(options);
    this.db = this.client.db(database);
    this.hosts = this.client.options.hosts.map(String).join(',');
  }

  /** The store's collection, or another of its collections (dead letters, actions), with its write concern. */
  collection<T extends Document>(name = this.collectionName): Collection<T> {
    return this.db.collection<T>(name, { writeConcern: this.writeConcern });
  }

  /** Connects (once; again after a failure), or throws {@link MongoStoreUnavailableError}. */
  connect(): Promise<void> {
    const startedAt = Date.now();
    this.connecting ??= this.client.connect().then(
      () => undefined,
      (error: unknown) => {
        this.connecting = undefined;
        const detail = this.redact(error instanceof Error ? error.message : String(error));
        const cause = new Error(detail);
        cause.name = error instanceof Error ? error.name : 'Error';
        throw new MongoStoreUnavailableError(
          this.hosts,
          connectFailureMessage({
            hosts: this.hosts,
            database: this.db.databaseName,
            elapsedMs: Date.now() - startedAt,
            timeoutMs: this.client.options.serverSelectionTimeoutMS,
            errorName: cause.name,
            errorCode: (error as { code?: unknown } | null)?.code,
            detail,
          }),
          { cause },
        );
      },
    );
    return this.connecting;
  }

  /**
   * Connects, then creates `indexes` if missing (idempotent). One index per command: FerretDB v1
   * drops the connection when a single createIndexes names several indexes that all exist.
   */
  async ensureIndexes(indexes: readonly IndexDescription[]): Promise<void> {
    await this.connect();
    const collection = this.collection();
    for (const index of indexes) await collection.createIndexes([index]);
  }

  /** Closes the client if the store created it; idempotent. */
  async close(): Promise<void> {
    if (!this.owned || this.closed) return;
    this.closed = true;
    await this.client.close();
  }

  /** `text` without the password of the connection string. */
  private redact(text: string): string {
    const password = this.client.options.credentials?.password;
    if (!password) return text;
    return text.split(password).join('***').split(encodeURIComponent(password)).join('***');
  }
}

/**
 * The message of a failed connect: what went wrong and after how long, as it happened. A refused
 * login is named as such with the real elapsed time; only a server selection that ran out says
 * "within <timeout> ms".
 * @internal
 */
export function connectFailureMessage(failure: {
  readonly hosts: string;
  readonly database: string;
  readonly elapsedMs: number;
  readonly timeoutMs: number;
  readonly errorName: string;
  readonly errorCode?: unknown;
  readonly detail: string;
}): string {
  const where = `MongoDB at ${failure.hosts} (database '${failure.database}')`;
  const after = `after ${Math.round(failure.elapsedMs)} ms`;
  const login =
    failure.errorCode === 18 ||
    failure.errorCode === 'AuthenticationFailed' ||
    /authentication|auth failed|SCRAM|unauthorized/i.test(failure.detail);
  if (login) {
    return `${where} refused the login ${after}: ${failure.detail} (check the user, password, authSource and mechanism)`;
  }
  const timedOut =
    failure.errorName === 'MongoServerSelectionError' && failure.elapsedMs >= failure.timeoutMs * 0.9;
  if (timedOut) {
    return `Cannot connect to ${where} within ${failure.timeoutMs} ms: ${failure.detail}`;
  }
  return `Cannot connect to ${where} (failed ${after}): ${failure.detail}`;
}

/** Validates {@link MongoStoreOptions.writeConcern} into the driver's settings, naming the bad field. */
function writeConcernOf(option: StoreWriteConcern | undefined): WriteConcernSettings {
  if (option === undefined) return { w: 'majority' };
  if (typeof option !== 'object' || option === null) {
    throw new ConfigurationError('writeConcern', "expected an object such as { w: 'majority' }");
  }
  const unknown = Object.keys(option).filter((key) => !['w', 'journal', 'timeout'].includes(key));
  if (unknown.length > 0) {
    throw new ConfigurationError(
      `writeConcern.${unknown[0]}`,
      "unknown field; the write concern takes `w`, `journal` and `timeout` (e.g. { w: 'majority', journal: true })",
    );
  }
  const w = option.w ?? 'majority';
  if (w !== 'majority' && !(typeof w === 'number' && Number.isInteger(w) && w >= 1)) {
    throw new ConfigurationError(
      'writeConcern.w',
      `expected 'majority' or a whole number >= 1 (0, unacknowledged, is refused: the stores decide with conditional writes), got ${JSON.stringify(w)}`,
    );
  }
  const settings: WriteConcernSettings = { w };
  if (option.journal !== undefined) {
    if (typeof option.journal !== 'boolean') {
      throw new ConfigurationError(
        'writeConcern.journal',
        `expected true or false, got ${JSON.stringify(option.journal)}`,
      );
    }
    settings.journal = option.journal;
  }
  if (option.timeout !== undefined) {
    const ms = toMillis(option.timeout, 'writeConcern.timeout');
    if (!Number.isFinite(ms) || ms < 1) {
      throw new ConfigurationError('writeConcern.timeout', `expected a finite duration >= 1ms, got ${ms}`);
    }
    settings.wtimeoutMS = Math.round(ms);
  }
  return settings;
}

function createClient(options: MongoStoreOptions): MongoClient {
  const { url } = options;
  if (typeof url !== 'string' || !/^mongodb(\+srv)?:\/\//.test(url)) {
    throw new ConfigurationError(
      'url',
      url === undefined
        ? 'give a connection string (mongodb://host:port/) or a MongoClient as `client`'
        : 'expected a connection string starting with mongodb:// or mongodb+srv://',
    );
  }
  const timeoutMs = toMillis(options.serverSelectionTimeout ?? '5s', 'serverSelectionTimeout');
  if (!Number.isFinite(timeoutMs) || timeoutMs < 1) {
    throw new ConfigurationError(
      'serverSelectionTimeout',
      `expected a finite duration >= 1ms, got ${timeoutMs}`,
    );
  }
  if (
    options.clientOptions !== undefined &&
    (typeof options.clientOptions !== 'object' || !options.clientOptions)
  ) {
    throw new ConfigurationError('clientOptions', 'expected an object of MongoClient options');
  }
  try {
    return new MongoClient(url, {
      serverSelectionTimeoutMS: Math.round(timeoutMs),
      ...options.clientOptions,
    });
  } catch (error) {
    // The parser's message may quote the URL; say only what is wrong with it.
    const reason = (error as Error).message.replace(url, '<url>').replace(/\/\/[^@/]*@/g, '//***@');
    throw new ConfigurationError('url', `not a valid MongoDB connection string: ${reason}`);
  }
}

function checkClient(options: MongoStoreOptions): MongoClient {
  if (options.url !== undefined) {
    throw new ConfigurationError('url', 'give either `client` or `url`, not both');
  }
  const client = options.client as unknown;
  if (
    typeof client !== 'object' ||
    client === null ||
    typeof (client as MongoClient).db !== 'function' ||
    typeof (client as MongoClient).connect !== 'function'
  ) {
    throw new ConfigurationError('client', 'expected a MongoClient');
  }
  return client as MongoClient;
}

/**
 * Runs `fn` on every item, at most `parallelism` at a time (chunk by chunk), and resolves with the
 * results in the items' order: per-document writes by `_id`, which FerretDB pushes down.
 * @internal
 */
export async function mapInChunks<T, R>(
  items: readonly T[],
  parallelism: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += parallelism) {
    results.push(...(await Promise.all(items.slice(i, i + parallelism).map(fn))));
  }
  return results;
}
