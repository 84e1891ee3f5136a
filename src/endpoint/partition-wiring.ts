/**
 * How an endpoint consumes: its one queue, or, partitioned, its share of the partitions
 * ({@link PartitionedConsumer}) with leases kept next to its saga store.
 */
import { type Consumer, type DeliveryHandler, type Transport } from '../bus/transport.js';
import { ConfigurationError } from '../errors.js';
import { defaultRegistry } from '../messages/registry.js';
import { InMemoryPartitionLeases } from '../persistence/memory/in-memory-partition-leases.js';
import { InMemorySagaStore } from '../persistence/memory/in-memory-saga-store.js';
import { MongoPartitionLeases } from '../persistence/mongodb/partition-leases.js';
import { MongoSagaStore } from '../persistence/mongodb/mongo-saga-store.js';
import { type PartitionLeases } from '../persistence/partition-leases.js';
import { type SagaStore } from '../persistence/saga-store.js';
import { type Clock } from '../util/clock.js';
import { type Logger } from '../util/logger.js';
import { type ResolvedOptions } from './options.js';
import { PartitionedConsumer } from './partitioned-consumer.js';

/** A running endpoint consumer; a partitioned one says which partitions it consumes now. */
export type EndpointConsumer = Consumer & { readonly owned?: ReadonlySet<number> };

/** In-memory leases by saga store: endpoints sharing an in-memory store share the partitions. */
const memoryLeases = new WeakMap<SagaStore, InMemoryPartitionLeases>();

/** The leases given, or those next to the saga store (see `EndpointOptions.partitionLeases`). */
export function partitionLeasesFor(
  given: PartitionLeases | undefined,
  store: SagaStore,
  clock: Clock,
): PartitionLeases {
  if (given) return given;
  if (store instanceof MongoSagaStore) return MongoPartitionLeases.forStore(store);
  if (store instanceof InMemorySagaStore) {
    let leases = memoryLeases.get(store);
    if (!leases) memoryLeases.set(store, (leases = new InMemoryPartitionLeases(clock)));
    return leases;
  }
  throw new ConfigurationError(
    'partitionLeases',
    'a partitioned endpoint on this saga store needs partition leases: give a PartitionLeases',
  );
}

/** What {@link consumeEndpoint} needs. */
export interface ConsumeEndpointParts {
  readonly transport: Transport;
  readonly options: ResolvedOptions;
  readonly handler: DeliveryHandler;
  readonly leases: () => PartitionLeases;
  readonly logger: Logger;
}

/** Declares the endpoint's queue(s), subscribed to the events among `handled`, and consumes them. */
export async function consumeEndpoint(
  handled: readonly string[],
  parts: ConsumeEndpointParts,
): Promise<EndpointConsumer> {
  const { transport, options, handler } = parts;
  // A renamed event is also bound under its former names, for publishers not yet redeployed.
  const subscriptions = handled.flatMap((name) => {
    const type = defaultRegistry.lookup(name);
    return type?.kind === 'event' ? [name, ...(type.aliases ?? [])] : [];
  });
  const { name, partitions } = options;
  await transport.declareEndpoint({ name, subscriptions, ...(partitions > 0 ? { partitions } : {}) });
  if (partitions === 0) return transport.consume(name, handler, { concurrency: options.concurrency });
  const consumer = new PartitionedConsumer({
    transport,
    leases: parts.leases(),
    endpoint: name,
    partitions,
    leaseMs: options.partitionLeaseMs,
    handler,
    logger: parts.logger,
  });
  await consumer.start();
  return consumer;
}
