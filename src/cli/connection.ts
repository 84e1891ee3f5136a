/**
 * The connection options every `longhaul` command takes, read one way: a flag, else an
 * environment variable, else the default.
 *
 * | flag | environment | default |
 * |---|---|---|
 * | `--amqp <url>` (`--url` is its older name) | `RABBITMQ_URL` | `amqp://guest:guest@localhost:5672` |
 * | `--prefix <p>` | `LONGHAUL_PREFIX` | none |
 * | `--mongo <url>` | `MONGODB_URL` | none (required by commands that read the store) |
 * | `--database <name>` | `LONGHAUL_DATABASE` | `longhaul` |
 * | `--collection-prefix <p>` | `LONGHAUL_COLLECTION_PREFIX` | `longhaul_` |
 * | `--collection <name>` | none | `<collection-prefix>sagas` |
 * | `--endpoint <name>` | `LONGHAUL_ENDPOINT` | none (required to steer workflows) |
 */
import { MongoClient } from 'mongodb';
import { RabbitMqTransport } from '../bus/rabbitmq/index.js';
import { Endpoint } from '../endpoint/endpoint.js';
import { OperationsClient } from '../operations/client.js';
import { rabbitMqErrorQueueAccess } from '../operations/error-queue-access.js';
import { MongoSagaStore } from '../persistence/mongodb/index.js';
import { InMemorySagaStore } from '../persistence/memory/in-memory-saga-store.js';
import { MongoTimeoutStore } from '../timeouts/mongodb/index.js';
import { consoleLogger, silentLogger } from '../util/logger.js';
import { type CliIo, UsageError } from './io.js';

/** The `parseArgs` options of the connection flags. */
export const CONNECTION_OPTIONS = {
  amqp: { type: 'string' },
  url: { type: 'string' },
  prefix: { type: 'string' },
  mongo: { type: 'string' },
  database: { type: 'string' },
  collection: { type: 'string' },
  'collection-prefix': { type: 'string' },
  endpoint: { type: 'string' },
} as const;

/** The broker flags. */
export const BROKER = ['amqp', 'url', 'prefix'] as const;
/** The store flags. */
export const STORE = ['mongo', 'database', 'collection', 'collection-prefix'] as const;
/**
 * Every connection flag: each command accepts them all (and ignores those it does not use), so
 * one set of flags or environment variables serves every command.
 */
export const CONNECTION = [...BROKER, ...STORE, 'endpoint'] as const;

/** The help lines of the connection flags. */
export const CONNECTION_HELP = `Connection options (flag, else environment variable, else default):
  --amqp <url>               the broker, amqp[s]://user:password@host:port/vhost
                             ($RABBITMQ_URL, else amqp://guest:guest@localhost:5672; --url is an older name)
  --prefix <prefix>          the queue name prefix the endpoints were configured with ($LONGHAUL_PREFIX, else none)
  --mongo <url>              the MongoDB (or FerretDB) holding the instances ($MONGODB_URL)
  --database <name>          its database ($LONGHAUL_DATABASE, else longhaul)
  --collection-prefix <p>    the stores' collection prefix ($LONGHAUL_COLLECTION_PREFIX, else longhaul_)
  --collection <name>        the saga collection (default: <collection-prefix>sagas)
  --endpoint <name>          the endpoint hosting the workflows to steer ($LONGHAUL_ENDPOINT)`;

/** Parsed connection flags (strings as `parseArgs` gives them). */
export type ConnectionValues = { readonly [K in keyof typeof CONNECTION_OPTIONS]?: string };

/** The broker URL and prefix. */
export function broker(values: ConnectionValues, io: CliIo): { url: string; prefix: string } {
  return {
    url: values.amqp ?? values.url ?? io.env.RABBITMQ_URL ?? 'amqp://guest:guest@localhost:5672',
    prefix: values.prefix ?? io.env.LONGHAUL_PREFIX ?? '',
  };
}

/** The store's location, or `undefined` when neither `--mongo` nor `MONGODB_URL` is given. */
export function storeLocation(
  values: ConnectionValues,
  io: CliIo,
): { url: string; database: string; collectionPrefix?: string; collection?: string } | undefined {
  const url = values.mongo ?? io.env.MONGODB_URL;
  if (!url) return undefined;
  const collectionPrefix = values['collection-prefix'] ?? io.env.LONGHAUL_COLLECTION_PREFIX;
  return {
    url,
    database: values.database ?? io.env.LONGHAUL_DATABASE ?? 'longhaul',
    ...(collectionPrefix !== undefined ? { collectionPrefix } : {}),
    ...(values.collection !== undefined ? { collection: values.collection } : {}),
  };
}

/** What an operations command needs opened. */
export interface Needs {
  /** The saga store (required: fails without `--mongo`); else an empty in-memory one. */
  readonly store?: boolean;
  /** The broker's error queues. */
  readonly errorQueues?: boolean;
  /** A send-only endpoint to steer workflows hosted by `--endpoint`. */
  readonly workflows?: boolean;
}

/** An {@link OperationsClient} over what the flags name, and how to close it. */
export interface Opened {
  readonly ops: OperationsClient;
  /** Whether actions are recorded in a store (`--mongo` given). */
  readonly recorded: boolean;
  close(): Promise<void>;
}

/** Opens what `needs` asks for; close it in a `finally`. */
export async function openOperations(values: ConnectionValues, io: CliIo, needs: Needs): Promise<Opened> {
  const location = storeLocation(values, io);
  if (needs.store && !location) {
    throw new UsageError('Say where the instances are: --mongo <url> (or set MONGODB_URL)');
  }
  const endpointName = values.endpoint ?? io.env.LONGHAUL_ENDPOINT;
  if (needs.workflows && !endpointName) {
    throw new UsageError(
      'Say which endpoint hosts the workflow: --endpoint <name> (or set LONGHAUL_ENDPOINT)',
    );
  }
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const step of closers.reverse()) await step().catch(() => undefined);
  };
  try {
    let client: MongoClient | undefined;
    if (location) {
      client = new MongoClient(location.url, { serverSelectionTimeoutMS: 5_000 });
      closers.push(() => client!.close());
      await client.connect();
    }
    const storeOptions = location && {
      client,
      database: location.database,
      ...(location.collectionPrefix !== undefined ? { collectionPrefix: location.collectionPrefix } : {}),
      logger: silentLogger,
    };
    const store = storeOptions
      ? new MongoSagaStore({
          ...storeOptions,
          ...(location.collection !== undefined ? { collection: location.collection } : {}),
        })
      : new InMemorySagaStore();
    const timeouts = storeOptions ? new MongoTimeoutStore(storeOptions) : undefined;
    let transport: RabbitMqTransport | undefined;
    if (needs.errorQueues || needs.workflows) {
      const { url, prefix } = broker(values, io);
      transport = new RabbitMqTransport({
        url,
        prefix,
        logger: consoleLogger('error'),
        connectionName: 'longhaul-cli',
        reconnect: { maxAttempts: 1 },
      });
    }
    let endpoint: Endpoint | undefined;
    if (needs.workflows && transport) {
      endpoint = new Endpoint({
        name: 'longhaul-cli',
        sendOnly: true,
        transport,
        sagaStore: store,
        ...(timeouts ? { timeoutStore: timeouts } : {}),
        logger: consoleLogger('error'),
      });
      closers.push(async () => {
        await endpoint!.stop();
        await endpoint!.close();
      });
      await endpoint.start();
    } else if (transport) {
      closers.push(() => transport!.close());
      await transport.start();
    }
    const ops = new OperationsClient({
      store,
      ...(timeouts ? { timeouts } : {}),
      ...(endpoint && endpointName ? { workflows: endpoint.workflowsAt(endpointName) } : {}),
      ...(transport ? { errorQueues: rabbitMqErrorQueueAccess(transport.errorQueues) } : {}),
    });
    return { ops, recorded: location !== undefined, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Who runs the command, for the action log: `--by`, else `$USER`. */
export function actor(by: string | undefined, io: CliIo): string | undefined {
  return by ?? io.env.LONGHAUL_USER ?? io.env.USER;
}
