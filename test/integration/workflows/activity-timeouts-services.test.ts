/**
 * Activity start-to-close and heartbeat timeouts and cancellation on RabbitMQ + FerretDB (through
 * its gate): the scenarios of test/workflows/activity-timeout-scenarios.ts, each test with its own
 * queue prefix and database, removed after it.
 */
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { MongoSagaStore, MongoTimeoutStore, RabbitMqTransport, silentLogger } from '../../../src/index.js';
import { activityTimeoutTests } from '../../workflows/activity-timeout-scenarios.js';

activityTimeoutTests(
  'activity timeouts, heartbeats and cancellation on RabbitMQ + FerretDB',
  () => {
    const tag = randomUUID().slice(0, 8);
    const url = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';
    const database = `lh_wfat_${tag}`;
    const transport = new RabbitMqTransport({
      url: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
      prefix: `wfat-${tag}.`,
    });
    const sagaStore = new MongoSagaStore({ url, database, logger: silentLogger });
    const timeoutStore = new MongoTimeoutStore({ url, database, logger: silentLogger });
    return {
      transport,
      sagaStore,
      timeoutStore,
      async cleanup() {
        await transport.deleteDeclaredTopology();
        await transport.close();
        await sagaStore.close();
        await timeoutStore.close();
        const mongo = new MongoClient(url);
        await mongo.db(database).dropDatabase();
        await mongo.close();
      },
    };
  },
  60_000,
  300,
);
