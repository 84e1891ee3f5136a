/**
 * The transport conformance suite against a real RabbitMQ (RABBITMQ_URL, default the local broker),
 * once with classic and once with quorum queues. Each test gets its own prefix, so its own
 * exchange and queues, deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import { silentLogger } from '../../src/index.js';
import { type QueueType, RabbitMqTransport } from '../../src/bus/rabbitmq/index.js';
import { describeTransportConformance, type TransportHarness } from './transport.js';

const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

function harness(queueType: QueueType): () => Promise<TransportHarness> {
  return async () => {
    const transport = new RabbitMqTransport({
      url,
      prefix: `lh-conf-${queueType}-${randomUUID().slice(0, 8)}.`,
      queueType,
      logger: silentLogger,
    });
    await transport.start();
    return {
      transport,
      errors: (endpoint) => transport.errorQueues.list(endpoint),
      dispose: async () => {
        await transport.deleteDeclaredTopology();
        await transport.close();
      },
    };
  };
}

describeTransportConformance('rabbitmq (classic)', harness('classic'));
describeTransportConformance('rabbitmq (quorum)', harness('quorum'));
