/**
 * The RabbitMQ topology of a partitioned endpoint `<endpoint>` (names after the prefix):
 * - `<endpoint>.partitions`: an `x-consistent-hash` exchange (plugin
 *   `rabbitmq_consistent_hash_exchange`, shipped with RabbitMQ) hashing the
 *   `longhaul.partition-key` header (`hash-header`), bound to every partition queue with weight 1.
 *   The broker owns the routing, so publishers in any language or version agree on a key's
 *   partition, and the ring is the broker's to keep.
 * - `<endpoint>.p<i>` (i = 0..N-1): the partition queues, `x-single-active-consumer` (one consumer
 *   gets the messages, the others stand by), of the transport's queue type. Each has its own retry
 *   queues (`<endpoint>.p<i>.retry.<ms>ms`), so a delayed retry comes back to its partition.
 * - The events exchange is bound to `<endpoint>.partitions` for each subscribed event type
 *   (exchange-to-exchange); `send` to the endpoint publishes to `<endpoint>.partitions`.
 * - One error queue, `<endpoint>.error`, as for any endpoint. No plain `<endpoint>` queue.
 */
import { type EventEmitter } from 'node:events';
import { type Channel } from 'amqplib';
import { Headers } from '../../messages/envelope.js';
import { RabbitMqTopologyError, replyCodeOf } from './errors.js';
import { type TopologyNames } from './topology.js';

/** An exchange type that a RabbitMQ plugin provides. */
export interface PluginExchangeType {
  readonly type: string;
  readonly plugin: string;
}

/** The consistent-hash exchange type and its plugin. */
export const CONSISTENT_HASH: PluginExchangeType = {
  type: 'x-consistent-hash',
  plugin: 'rabbitmq_consistent_hash_exchange',
};

/** Declares an exchange of a plugin's type; a broker without the plugin fails saying how to enable it. */
export async function assertPluginExchange(
  channel: Channel,
  exchange: string,
  kind: PluginExchangeType,
  args: Record<string, unknown> = {},
): Promise<void> {
  // The broker answers an unknown exchange type with 503 and closes the whole connection: the
  // reason comes as the connection's error, the declaration only sees its channel end.
  const connection = (channel as unknown as { connection?: EventEmitter }).connection;
  let closedWith: unknown;
  const onError = (error: unknown): void => void (closedWith = error);
  connection?.on('error', onError);
  try {
    await channel.assertExchange(exchange, kind.type, { durable: true, arguments: args });
  } catch (error) {
    await new Promise((resolve) => setImmediate(resolve));
    const reason = closedWith ?? error;
    const message = (reason as Error).message;
    if (replyCodeOf(reason) === 503 || /unknown exchange type|invalid exchange type/i.test(message)) {
      throw new RabbitMqTopologyError(
        `Cannot declare exchange '${exchange}': the broker has no exchange type '${kind.type}'; enable its plugin ` +
          `on every node with \`rabbitmq-plugins enable ${kind.plugin}\` (${message})`,
        { cause: reason },
      );
    }
    throw error;
  } finally {
    connection?.off('error', onError);
  }
}

/** What {@link declarePartitions} declares into. */
export interface PartitionDeclaration {
  readonly names: TopologyNames;
  readonly endpoint: string;
  readonly partitions: number;
  readonly subscriptions: readonly string[];
  /** Arguments of a partition queue besides single-active-consumer (queue type, dead-lettering). */
  readonly queueArguments: Record<string, unknown>;
  /** Runs one declaration, turning its failure into a {@link RabbitMqTopologyError} naming `what`. */
  readonly assert: (what: string, operation: () => Promise<unknown>) => Promise<void>;
  /** Records a declared queue (for `deleteDeclared`). */
  readonly declared: (queue: string) => void;
}

/** Declares the hash exchange, the partition queues and their bindings (see the file header). */
export async function declarePartitions(channel: Channel, d: PartitionDeclaration): Promise<void> {
  const exchange = d.names.partitionExchange(d.endpoint);
  await assertPluginExchange(channel, exchange, CONSISTENT_HASH, { 'hash-header': Headers.partitionKey });
  for (let i = 0; i < d.partitions; i++) {
    const queue = d.names.queue(partitionName(d.endpoint, i));
    await d.assert(`queue '${queue}'`, () =>
      channel.assertQueue(queue, {
        durable: true,
        arguments: { ...d.queueArguments, 'x-single-active-consumer': true },
      }),
    );
    d.declared(queue);
    await d.assert(`binding of '${queue}' to '${exchange}'`, () => channel.bindQueue(queue, exchange, '1'));
  }
  for (const type of d.subscriptions) {
    await d.assert(`binding of '${exchange}' to '${type}'`, () =>
      channel.bindExchange(exchange, d.names.exchange, type),
    );
  }
}

/** The name (after the prefix) of partition `i`'s queue, which is also the base of its retry queues. */
export function partitionName(endpoint: string, i: number): string {
  return `${endpoint}.p${i}`;
}

/** Whether the broker has `exchange` (a passive check on a channel of its own, which a miss closes). */
export async function exchangeExists(open: () => Promise<Channel>, exchange: string): Promise<boolean> {
  const channel = await open();
  channel.on('error', () => undefined);
  try {
    await channel.checkExchange(exchange);
    return true;
  } catch (error) {
    if (replyCodeOf(error) === 404) return false;
    throw error;
  } finally {
    await channel.close().catch(() => undefined);
  }
}
