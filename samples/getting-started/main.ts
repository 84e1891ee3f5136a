/**
 * The checkout on RabbitMQ and MongoDB: `npx tsx main.ts` (RABBITMQ_URL and MONGODB_URL default
 * to the docker compose ports).
 */
import 'reflect-metadata';
import {
  Bus,
  consoleLogger,
  MongoSagaStore,
  MongoTimeoutStore,
  RabbitMqTransport,
  WorkflowClient,
} from '../../src/index.js';
import { createCheckout } from './app.js';
import { OrderPlaced } from './messages.js';

const mongo = {
  url: process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27017/',
  database: process.env.MONGODB_DATABASE ?? 'checkout',
};
const { container, endpoint } = createCheckout({
  transport: new RabbitMqTransport({
    url: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    prefix: process.env.RABBITMQ_PREFIX ?? '',
  }),
  sagaStore: new MongoSagaStore(mongo),
  timeoutStore: new MongoTimeoutStore(mongo),
  logger: consoleLogger('warn'),
});
await endpoint.start();

const orderId = `o-${Date.now()}`;
await container.get(Bus).publish(new OrderPlaced(orderId, 25));
const tracking = await container.get(WorkflowClient).result(`ship-${orderId}`, { timeout: '30s' });
console.log(`order ${orderId}: confirmed and shipped, ${tracking}`);
await endpoint.close();
