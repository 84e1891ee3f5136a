/**
 * A worker process for the two-process telemetry test, with its own OpenTelemetry SDK: role `a`
 * hosts the order saga and the workflows, role `b` the payment handler and the activities. Every
 * finished span is written to stdout as one line, `span <json>`; `ready` once started; on
 * SIGTERM it stops, writes its metric points (`metric <json>`), deletes its queues and exits.
 */
import 'reflect-metadata';
import { Endpoint, RabbitMqTransport, silentLogger } from '../../src/index.js';
import { MongoSagaStore } from '../../src/persistence/mongodb/index.js';
import { MongoTimeoutStore } from '../../src/timeouts/mongodb/index.js';
import { installTelemetry, recordOf } from '../support/otel.js';
import { ChildFlow, lookUp, OrderSaga, ParentFlow, Payments } from './fixtures.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const role = env('LH_ROLE');
const otel = installTelemetry((span) =>
  process.stdout.write(`span ${JSON.stringify(recordOf(span, role))}\n`),
);

const mongo = { url: env('LH_MONGODB_URL'), database: env('LH_DATABASE') };
const [a, b] = [env('LH_ENDPOINT_A'), env('LH_ENDPOINT_B')];
const transport = new RabbitMqTransport({ url: env('LH_RABBITMQ_URL'), prefix: env('LH_PREFIX') });
const endpoint = new Endpoint({
  name: role === 'a' ? a : b,
  transport,
  sagaStore: new MongoSagaStore(mongo),
  timeoutStore: new MongoTimeoutStore(mongo),
  logger: silentLogger,
  ...(role === 'a'
    ? {
        sagas: [OrderSaga],
        workflows: [ParentFlow, ChildFlow],
        routes: { 'ot.ChargeCard': b },
        workflowOptions: { activityEndpoint: b },
      }
    : { handlers: [Payments], activities: [lookUp] }),
  recoverability: { immediateRetries: 1, delays: ['500ms'] },
  timeouts: { pollInterval: '200ms' },
});

await endpoint.start();
process.stdout.write('ready\n');

process.on('SIGTERM', () => {
  void (async () => {
    await endpoint.stop();
    for (const point of await otel.points()) process.stdout.write(`metric ${JSON.stringify(point)}\n`);
    await transport.deleteDeclaredTopology();
    await endpoint.close();
    process.exit(0);
  })();
});
