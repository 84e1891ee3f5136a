/**
 * What the worker child processes of the multi-process tests and the contention bench share: their
 * settings from the environment, the `ready` / `owns <json>` lines the parent reads on stdout, and
 * the graceful stop on SIGTERM.
 */
import { type Endpoint, type EndpointOptions, RabbitMqTransport, silentLogger } from '../../../src/index.js';
import { MongoSagaStore } from '../../../src/persistence/mongodb/index.js';
import { MongoTimeoutStore } from '../../../src/timeouts/mongodb/index.js';

/** The environment variable `name`; throws when it is not set. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/**
 * The endpoint name, RabbitMQ transport and MongoDB stores of a silent worker, from `LH_ENDPOINT`,
 * `LH_RABBITMQ_URL`, `LH_PREFIX`, `LH_WORKER` (the connection's name), `LH_MONGODB_URL` and
 * `LH_DATABASE`.
 */
export function servicesFromEnv(): Pick<
  EndpointOptions,
  'name' | 'transport' | 'sagaStore' | 'timeoutStore' | 'logger'
> {
  const mongo = {
    url: requiredEnv('LH_MONGODB_URL'),
    database: requiredEnv('LH_DATABASE'),
    logger: silentLogger,
  };
  return {
    name: requiredEnv('LH_ENDPOINT'),
    transport: new RabbitMqTransport({
      url: requiredEnv('LH_RABBITMQ_URL'),
      prefix: requiredEnv('LH_PREFIX'),
      connectionName: process.env.LH_WORKER,
      logger: silentLogger,
    }),
    sagaStore: new MongoSagaStore(mongo),
    timeoutStore: new MongoTimeoutStore(mongo),
    logger: silentLogger,
  };
}

/**
 * Starts `endpoint` and prints `ready`; on a partitioned endpoint (`reportPartitions`) also prints
 * `owns <json>` whenever the partitions it consumes change. On SIGTERM: stops the endpoint, runs
 * `beforeExit` (whatever it returns is printed as a line), closes transport and stores and exits 0.
 */
export async function runWorker(
  endpoint: Endpoint,
  options: { reportPartitions?: boolean; beforeExit?: () => Promise<string | void> } = {},
): Promise<void> {
  await endpoint.start();
  process.stdout.write('ready\n');
  if (options.reportPartitions) {
    let owned = '';
    setInterval(() => {
      const now = JSON.stringify([...endpoint.partitions].sort((a, b) => a - b));
      if (now !== owned) process.stdout.write(`owns ${(owned = now)}\n`);
    }, 50).unref();
  }
  process.on('SIGTERM', () => {
    void (async () => {
      await endpoint.stop();
      const line = await options.beforeExit?.();
      if (line) process.stdout.write(`${line}\n`);
      await endpoint.transport.close();
      await endpoint.sagaStore.close();
      await endpoint.timeoutStore.close();
      process.exit(0);
    })();
  });
}
