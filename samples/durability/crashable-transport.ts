import {
  type Consumer,
  type ConsumeOptions,
  type DeliveryHandler,
  type EndpointTopology,
  type Transport,
  type WireMessage,
} from '../../src/index.js';

/** A process's connection to the shared broker that can be cut as a `kill -9` would. */
export interface CrashableTransport extends Transport {
  /**
   * The process dies: deliveries in flight are never acknowledged, so the broker hands them to
   * the next consumer (as RabbitMQ does when a connection drops), and nothing more is sent or
   * received through this connection.
   */
  crash(): void;
}

/**
 * Wraps the embedded transport the way a process holds a broker connection: the queues live in
 * `broker` and survive {@link CrashableTransport.crash}; the consumers of this connection do not.
 */
export function crashable(broker: Transport): CrashableTransport {
  let dead = false;
  let kill: (error: Error) => void = () => {};
  const died = new Promise<never>((_, reject) => {
    kill = reject;
  });
  died.catch(() => {});
  const consumers: Consumer[] = [];
  const alive = (): void => {
    if (dead) throw new Error('this process has crashed');
  };
  return {
    async declareEndpoint(topology: EndpointTopology) {
      alive();
      await broker.declareEndpoint(topology);
    },
    async publish(message: WireMessage) {
      alive();
      await broker.publish(message);
    },
    async send(message: WireMessage, endpoint: string) {
      alive();
      await broker.send(message, endpoint);
    },
    async consume(endpoint: string, handler: DeliveryHandler, options: ConsumeOptions) {
      alive();
      // A delivery in flight at the crash rejects: the broker keeps the message for redelivery.
      const consumer = await broker.consume(endpoint, (d) => Promise.race([handler(d), died]), options);
      consumers.push(consumer);
      return { stop: async () => {} };
    },
    async close() {},
    crash() {
      if (dead) return;
      dead = true;
      for (const consumer of consumers) void consumer.stop();
      kill(new Error('process killed'));
    },
  };
}
