import { type Channel, type GetMessage } from 'amqplib';
import { type WireMessage } from '../../messages/codec.js';
import { Headers } from '../../messages/envelope.js';
import { type ConnectionManager } from './connection.js';
import { RabbitMqTopologyError, replyCodeOf } from './errors.js';
import { type ConfirmPublisher, type PublishTarget } from './publisher.js';
import { type TopologyNames } from './topology.js';
import { movedPropertiesOf, wireOf } from './wire.js';

/** A message in an endpoint's error queue, with why and where it failed. */
export interface ErrorQueueMessage extends WireMessage {
  /** The failure code (`longhaul.error.reason`, e.g. `handler-error`, `decode/unknown-type`), or the broker's dead-letter reason. */
  readonly reason: string;
  /** The error's name and message. */
  readonly error?: string;
  /** Attempts made before giving up. */
  readonly attempts?: number;
  /** When it failed (ISO 8601). */
  readonly failedAt?: string;
  /** The endpoint whose queue a replay returns it to. */
  readonly source: string;
}

/** What {@link RabbitMqErrorQueues.replay} did. */
export interface ReplayResult {
  /** Ids of the messages moved back to their source queue (an id appears once per copy moved). */
  readonly replayed: readonly string[];
  /** Requested ids not found in the error queue. */
  readonly missing: readonly string[];
  /** Messages that could not be moved; they stay in the error queue. */
  readonly failed: readonly { readonly messageId: string; readonly error: string }[];
}

/** Which messages to replay (or delete): all, those with the given ids, or those `match` accepts. */
export type ReplaySelection =
  | { readonly all: true }
  | { readonly ids: readonly string[] }
  | { readonly match: (message: ErrorQueueMessage) => boolean };

/** What {@link RabbitMqErrorQueues.delete} did. */
export interface DeleteResult {
  /** Ids of the messages removed (an id appears once per copy). */
  readonly deleted: readonly string[];
  /** Requested ids not found in the error queue. */
  readonly missing: readonly string[];
}

/** Whether a selection takes a message; `wanted` is the id set of an id selection. */
function selects(selection: ReplaySelection, entry: ErrorQueueMessage): boolean {
  if ('ids' in selection) return selection.ids.includes(entry.messageId);
  if ('match' in selection) return selection.match(entry);
  return selection.all;
}

/** Headers a replay removes: the failure description and the retry count start afresh. */
function isFailureHeader(key: string): boolean {
  return key.startsWith('longhaul.error.') || key === Headers.delayedRetries;
}

/**
 * Lists, shows and replays the messages in endpoints' error queues (`<prefix><endpoint>.error`).
 * AMQP cannot peek, so reading takes messages without acknowledging them and closes the channel,
 * which returns them to the queue: while a listing runs, those messages are invisible to others.
 * Replaying publishes a copy (confirmed) to the source endpoint's queue, without the
 * `longhaul.error.*` and `longhaul.delayed-retries` headers, then removes the original.
 * The `longhaul errors` command line uses it.
 * @example
 * ```ts
 * const parked = await transport.errorQueues.list('billing');
 * const result = await transport.errorQueues.replay('billing', { ids: [parked[0].messageId] });
 * ```
 */
export class RabbitMqErrorQueues {
  constructor(
    private readonly connection: ConnectionManager,
    private readonly publisher: ConfirmPublisher,
    private readonly names: TopologyNames,
    /** Where a message for an endpoint goes (its queue, or a partitioned endpoint's exchange). */
    private readonly targetOf: (endpoint: string) => Promise<PublishTarget>,
  ) {}

  /** Messages waiting in the endpoint's error queue. */
  async count(endpoint: string): Promise<number> {
    return this.withQueue(endpoint, async (channel, queue) => (await channel.checkQueue(queue)).messageCount);
  }

  /** Up to `limit` messages of the endpoint's error queue, oldest first, left in place. */
  async list(endpoint: string, options: { readonly limit?: number } = {}): Promise<ErrorQueueMessage[]> {
    const limit = options.limit ?? 1000;
    const found: ErrorQueueMessage[] = [];
    await this.browse(endpoint, async (message) => {
      found.push(this.describe(endpoint, message));
      return found.length < limit;
    });
    return found;
  }

  /** The first message with `messageId` in the endpoint's error queue, left in place. */
  async show(endpoint: string, messageId: string): Promise<ErrorQueueMessage | undefined> {
    let found: ErrorQueueMessage | undefined;
    await this.browse(endpoint, async (message) => {
      const entry = this.describe(endpoint, message);
      if (entry.messageId === messageId) found = entry;
      return found === undefined;
    });
    return found;
  }

  /** Moves messages (all, or by id) back to the queue of the endpoint they failed on. */
  async replay(endpoint: string, selection: ReplaySelection): Promise<ReplayResult> {
    const wanted = 'ids' in selection ? new Set(selection.ids) : undefined;
    const replayed: string[] = [];
    const failed: { messageId: string; error: string }[] = [];
    await this.browse(endpoint, async (message, ack) => {
      const entry = this.describe(endpoint, message);
      if (!selects(selection, entry)) return true;
      const headers = Object.fromEntries(
        Object.entries(entry.headers).filter(([key]) => !isFailureHeader(key)),
      );
      try {
        await this.publisher.publish(
          await this.targetOf(entry.source),
          message.content,
          movedPropertiesOf(message.properties, entry.messageId, headers),
        );
        ack();
        replayed.push(entry.messageId);
      } catch (error) {
        failed.push({ messageId: entry.messageId, error: (error as Error).message });
      }
      return true;
    });
    const missing = wanted
      ? [...wanted].filter((id) => !replayed.includes(id) && !failed.some((f) => f.messageId === id))
      : [];
    return { replayed, missing, failed };
  }

  /** Removes messages (all, by id, or matching) from the endpoint's error queue for good. */
  async delete(endpoint: string, selection: ReplaySelection): Promise<DeleteResult> {
    const deleted: string[] = [];
    await this.browse(endpoint, async (message, ack) => {
      const entry = this.describe(endpoint, message);
      if (selects(selection, entry)) {
        ack();
        deleted.push(entry.messageId);
      }
      return true;
    });
    const missing = 'ids' in selection ? selection.ids.filter((id) => !deleted.includes(id)) : [];
    return { deleted, missing };
  }

  private describe(endpoint: string, message: GetMessage): ErrorQueueMessage {
    const wire = wireOf(message);
    const { headers } = wire;
    // Own property only: amqplib decodes header tables into plain objects (a `__proto__` key…).
    const brokerHeaders = (message.properties.headers ?? {}) as Record<string, unknown>;
    const brokerReason = Object.hasOwn(brokerHeaders, 'x-first-death-reason')
      ? brokerHeaders['x-first-death-reason']
      : undefined;
    const attempts = Number.parseInt(headers[Headers.errorAttempts] ?? '', 10);
    return {
      ...wire,
      reason:
        headers[Headers.errorReason] ??
        (typeof brokerReason === 'string' ? `rabbitmq/${brokerReason}` : 'unknown'),
      error: headers[Headers.errorMessage],
      attempts: Number.isFinite(attempts) ? attempts : undefined,
      failedAt: headers[Headers.errorTime],
      source: headers[Headers.errorSource] || endpoint,
    };
  }

  /**
   * Takes the queue's messages one by one, unacknowledged, until `visit` returns false or the
   * messages there at the start were all seen; closing the channel returns those not acked. A
   * quorum queue applies such returns asynchronously, so this then waits (up to a second) until
   * the queue counts them again, and a following read sees them.
   */
  private async browse(
    endpoint: string,
    visit: (message: GetMessage, ack: () => void) => Promise<boolean>,
  ): Promise<void> {
    let expected = 0;
    let returned = 0;
    await this.withQueue(endpoint, async (channel, queue) => {
      const { messageCount } = await channel.checkQueue(queue);
      expected = messageCount;
      for (let seen = 0; seen < messageCount; seen++) {
        const message = await channel.get(queue, { noAck: false });
        if (message === false) break;
        let acked = false;
        const keep = await visit(message, () => {
          acked = true;
          channel.ack(message);
        });
        if (acked) expected--;
        else returned++;
        if (!keep) break;
      }
    });
    if (returned === 0) return;
    const deadline = Date.now() + 1_000;
    while (Date.now() < deadline && (await this.count(endpoint)) < expected) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private async withQueue<T>(
    endpoint: string,
    work: (channel: Channel, queue: string) => Promise<T>,
  ): Promise<T> {
    const queue = this.names.errorQueue(endpoint);
    const live = await this.connection.ready();
    const channel = await live.model.createChannel();
    channel.on('error', () => undefined);
    try {
      return await work(channel, queue);
    } catch (error) {
      if (replyCodeOf(error) === 404) {
        throw new RabbitMqTopologyError(
          `No error queue '${queue}': is '${endpoint}' an endpoint, declared with prefix '${this.names.prefix}'?`,
          { cause: error },
        );
      }
      throw error;
    } finally {
      await channel.close().catch(() => undefined);
    }
  }
}
