/**
 * `npm run sample:services`: the order-fulfilment sample on RabbitMQ and MongoDB (the
 * docker-compose.yml services, or any others: RABBITMQ_URL, MONGODB_URL). Order o-… is paid,
 * shipped and completed; order slow-… waits for a payment that never comes, and its 15-minute
 * payment-overdue timeout is stored in MongoDB, to fire even if this process is gone by then.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Bus, MongoSagaStore, MongoTimeoutStore, RabbitMqTransport, consoleLogger } from '../src/index.js';
import { OrderPlaced } from './order-fulfilment/messages.js';
import { createShop } from './order-fulfilment/setup.js';

const rabbitUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const mongoUrl = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27017/';
const mongo = { url: mongoUrl, database: process.env.MONGODB_DATABASE ?? 'longhaul_samples' };

const { container, endpoint } = createShop({
  transport: new RabbitMqTransport({ url: rabbitUrl }),
  sagaStore: new MongoSagaStore(mongo),
  timeoutStore: new MongoTimeoutStore(mongo),
  logger: consoleLogger('warn'),
});
await endpoint.start();
const bus = container.get(Bus);
const run = randomUUID().slice(0, 6);

await bus.publish(new OrderPlaced(`o-${run}`, 42));
await bus.publish(new OrderPlaced(`slow-${run}`, 99));
for (let i = 0; i < 100; i++) {
  const record = await endpoint.sagaStore.findByCorrelation('OrderFulfilment', `o-${run}`);
  if (record?.status === 'completed') break;
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const paid = await endpoint.sagaStore.findByCorrelation('OrderFulfilment', `o-${run}`);
const slow = await endpoint.sagaStore.findByCorrelation('OrderFulfilment', `slow-${run}`);
console.log(
  `order o-${run}: ${paid?.status === 'completed' ? 'completed (OrderCompleted published)' : paid?.status}`,
);
console.log(`order slow-${run}: ${slow?.status}, state ${JSON.stringify(slow?.state)}`);
for (const timeout of slow ? await endpoint.timeoutStore.listBySaga('OrderFulfilment', slow.id) : []) {
  console.log(`  timeout ${timeout.id} due ${timeout.dueAt.toISOString()} (stored in MongoDB)`);
}
await endpoint.close();
