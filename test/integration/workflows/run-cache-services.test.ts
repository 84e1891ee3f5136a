/**
 * The run cache on RabbitMQ + FerretDB: the scenarios of test/workflows/run-cache-scenarios.ts
 * with a MongoSagaStore on one database (through the store's gate) and each endpoint on its own
 * queue prefix of the shared broker, as two workers whose messages the test routes.
 */
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { MongoSagaStore, RabbitMqTransport, silentLogger } from '../../../src/index.js';
import { describeRunCache } from '../../workflows/run-cache-scenarios.js';

describeRunCache(
  'RabbitMQ + FerretDB',
  async () => {
    const tag = randomUUID().slice(0, 8);
    const url = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';
    const database = `lh_run_cache_${tag}`;
    const store = new MongoSagaStore({ url, database, logger: silentLogger });
    const transports: RabbitMqTransport[] = [];
    return {
      store,
      transport: () => {
        const transport = new RabbitMqTransport({
          url: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
          prefix: `run-cache-${tag}-${transports.length}.`,
          logger: silentLogger,
        });
        transports.push(transport);
        return transport;
      },
      async dispose() {
        for (const transport of transports) {
          await transport.deleteDeclaredTopology();
          await transport.close();
        }
        await store.close();
        const mongo = new MongoClient(url);
        await mongo.db(database).dropDatabase();
        await mongo.close();
      },
    };
  },
  30_000,
);
