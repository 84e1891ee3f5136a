/**
 * One workflow endpoint on the real services for a test file: RabbitMQ (transport, activity queue)
 * and FerretDB through its gate (history, timers), each file with its own queue prefix and
 * database, removed after the file. Registers the vitest hooks; read `endpoint`/`client` in tests.
 */
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll } from 'vitest';
import {
  Endpoint,
  type EndpointOptions,
  MongoSagaStore,
  MongoTimeoutStore,
  RabbitMqTransport,
  silentLogger,
  type WorkflowClient,
} from '../../../src/index.js';
import { type SagaCommit } from '../../../src/persistence/saga-store.js';
import { eventually } from '../../conformance/transport.js';

export interface WorkflowServices {
  readonly tag: string;
  readonly endpoint: Endpoint;
  readonly client: WorkflowClient;
  /** The instance's result, waiting up to 60 s. */
  result(id: string): Promise<unknown>;
  /** Waits up to 60 s for `predicate`. */
  until(predicate: () => Promise<boolean>, what: string): Promise<void>;
}

export function workflowServices(
  options: {
    name: string;
    prefix: string;
    /** Called before every saga-store commit; throw to fail that write (a simulated crash). */
    beforeCommit?: (commit: SagaCommit) => void;
  } & Pick<EndpointOptions, 'workflows' | 'activities' | 'workflowOptions'>,
): WorkflowServices {
  const tag = randomUUID().slice(0, 8);
  const mongoUrl = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';
  const database = `lh_${options.prefix}_${tag}`;
  let endpoint: Endpoint | undefined;
  let transport: RabbitMqTransport | undefined;

  beforeAll(async () => {
    transport = new RabbitMqTransport({
      url: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
      prefix: `${options.prefix}-${tag}.`,
    });
    const sagaStore = new MongoSagaStore({ url: mongoUrl, database, logger: silentLogger });
    const { beforeCommit } = options;
    if (beforeCommit) {
      const commit = sagaStore.commit.bind(sagaStore);
      sagaStore.commit = async (c) => {
        beforeCommit(c);
        return commit(c);
      };
    }
    endpoint = new Endpoint({
      name: options.name,
      transport,
      sagaStore,
      timeoutStore: new MongoTimeoutStore({ url: mongoUrl, database, logger: silentLogger }),
      workflows: options.workflows,
      activities: options.activities,
      logger: silentLogger,
      timeouts: { pollInterval: '100ms' },
      ...(options.workflowOptions ? { workflowOptions: options.workflowOptions } : {}),
    });
    await endpoint.start();
  });

  afterAll(async () => {
    await endpoint?.stop();
    await transport?.deleteDeclaredTopology();
    await endpoint?.close();
    const mongo = new MongoClient(mongoUrl);
    await mongo.db(database).dropDatabase();
    await mongo.close();
  });

  const started = (): Endpoint => {
    if (!endpoint) throw new Error('the workflow endpoint is not started yet');
    return endpoint;
  };
  return {
    tag,
    get endpoint() {
      return started();
    },
    get client() {
      return started().workflows;
    },
    result: (id) => started().workflows.result(id, { timeout: '60s', pollInterval: '100ms' }),
    until: (predicate, what) => eventually(predicate, 60_000, what),
  };
}
