/**
 * What `longhaul console` connects to: RabbitMQ (error queues; workflow commands) and MongoDB
 * (instances, timeouts), brought together as the operations client the console reads through.
 */
import { RabbitMqTransport } from '../bus/rabbitmq/rabbitmq-transport.js';
import { Endpoint } from '../endpoint/endpoint.js';
import { type OperationsApi } from '../operations/api.js';
import { OperationsClient } from '../operations/client.js';
import { rabbitMqErrorQueueAccess } from '../operations/error-queue-access.js';
import { MongoSagaStore } from '../persistence/mongodb/mongo-saga-store.js';
import { MongoTimeoutStore } from '../timeouts/mongodb/mongo-timeout-store.js';
import { type Logger, silentLogger } from '../util/logger.js';
import { storeHealth } from './health.js';
import { type HealthProbe } from './options.js';

/** Where the deployment is. */
export interface ConsoleConnectionOptions {
  /** The broker, `amqp[s]://user:password@host:port/vhost`. */
  readonly amqp: string;
  /** The MongoDB connection string. */
  readonly mongo: string;
  /** The database the endpoints' stores use. @defaultValue 'longhaul' */
  readonly database?: string;
  /** The stores' collection prefix. @defaultValue 'longhaul_' */
  readonly collectionPrefix?: string;
  /** The saga collection. @defaultValue `${collectionPrefix}sagas` */
  readonly collection?: string;
  /** The queue name prefix the endpoints were configured with. @defaultValue '' */
  readonly prefix?: string;
  /**
   * The endpoint hosting the workflows: workflow actions (resume, signal, cancel…) are sent to
   * its queue. @defaultValue none: workflow actions answer 501 with code `unavailable`
   */
  readonly workflowEndpoint?: string;
  /** @defaultValue silent */
  readonly logger?: Logger;
}

/** An open connection: the operations client, the overview's probe, and how to close both. */
export interface ConsoleConnection {
  readonly operations: OperationsApi;
  readonly health: HealthProbe;
  close(): Promise<void>;
}

/**
 * Connects: a send-only endpoint (no queue, no timeout scheduler, no outbox sweeper: the
 * console only reads and sends operator commands) on the RabbitMQ transport and the MongoDB
 * stores, and the operations client over them.
 */
export async function connectConsole(options: ConsoleConnectionOptions): Promise<ConsoleConnection> {
  const logger = options.logger ?? silentLogger;
  const database = options.database ?? 'longhaul';
  const transport = new RabbitMqTransport({
    url: options.amqp,
    prefix: options.prefix ?? '',
    logger,
    connectionName: 'longhaul-console',
  });
  const where = {
    url: options.mongo,
    database,
    logger,
    ...(options.collectionPrefix !== undefined ? { collectionPrefix: options.collectionPrefix } : {}),
  };
  const sagas = new MongoSagaStore({
    ...where,
    ...(options.collection !== undefined ? { collection: options.collection } : {}),
  });
  const timeouts = new MongoTimeoutStore(where);
  const endpoint = new Endpoint({
    name: 'longhaul-console',
    sendOnly: true,
    transport,
    sagaStore: sagas,
    timeoutStore: timeouts,
    logger,
    timeouts: { pollInterval: Infinity },
    outbox: { sweepInterval: Infinity },
  });
  try {
    await endpoint.start();
  } catch (error) {
    await endpoint.close().catch(() => undefined);
    throw error;
  }
  const operations = new OperationsClient({
    store: sagas,
    ...(options.workflowEndpoint !== undefined
      ? { workflows: endpoint.workflowsAt(options.workflowEndpoint) }
      : {}),
    timeouts,
    errorQueues: rabbitMqErrorQueueAccess(transport.errorQueues),
  });
  return {
    operations,
    health: storeHealth({ sagas, timeouts }),
    close: () => endpoint.close(),
  };
}
