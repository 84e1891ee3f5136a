import { UnroutableError } from '../../errors.js';
import { type WireMessage } from '../../messages/codec.js';
import { Headers } from '../../messages/envelope.js';
import { partitionOfKey } from '../../messages/partition-key.js';
import { type Clock, systemClock } from '../../util/clock.js';
import {
  type ConsumeOptions,
  type Consumer,
  type Delivery,
  type DeliveryHandler,
  type EndpointTopology,
  type Transport,
} from '../transport.js';

/** A message the in-memory transport accepted, as recorded in {@link InMemoryTransport.log}. */
export interface TransportRecord {
  readonly operation: 'publish' | 'send' | 'retry' | 'error';
  readonly message: WireMessage;
  /** The endpoints it was queued for. */
  readonly endpoints: readonly string[];
}

interface Queue {
  readonly messages: Delivery[];
  readonly errors: WireMessage[];
  consumer?: MemoryConsumer;
  /** A partitioned endpoint's partition queues (its own `messages` then stay empty). */
  partitions?: Queue[];
}

class MemoryConsumer implements Consumer {
  inFlight = 0;
  stopped = false;
  private drained: (() => void)[] = [];
  /** Whether a pump is scheduled for the next turn of the event loop (one is enough). */
  private pumpScheduled = false;
  private readonly pumpLater = (): void => {
    this.pumpScheduled = false;
    this.pump();
  };

  constructor(
    private readonly queue: Queue,
    private readonly handler: DeliveryHandler,
    private readonly concurrency: number,
    private readonly transport: InMemoryTransport,
    private readonly endpoint: string,
    /** Where failed messages go: the endpoint's queue (one error queue for all its partitions). */
    private readonly errorQueue: Queue = queue,
  ) {}

  pump(): void {
    while (!this.stopped && this.inFlight < this.concurrency && this.queue.messages.length > 0) {
      const delivery = this.queue.messages.shift() as Delivery;
      this.inFlight++;
      void this.run(delivery);
    }
  }

  private async run(delivery: Delivery): Promise<void> {
    try {
      const disposition = await this.handler(delivery);
      if (disposition.kind === 'retry') {
        this.transport.scheduleRetry(
          this.endpoint,
          delivery.message,
          disposition.delayMs,
          disposition.headers,
        );
      } else if (disposition.kind === 'error') {
        const failed = {
          ...delivery.message,
          headers: { ...delivery.message.headers, ...disposition.headers },
        };
        this.errorQueue.errors.push(failed);
        this.transport.record('error', failed, [this.endpoint]);
      }
    } catch {
      // The handler did not finish: leave the message to be delivered again, as a broker would.
      this.queue.messages.push({ message: delivery.message, redelivered: true });
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) for (const done of this.drained.splice(0)) done();
      // The next delivery starts on the next turn, not inside this one's call stack.
      if (!this.pumpScheduled) {
        this.pumpScheduled = true;
        setImmediate(this.pumpLater);
      }
      this.transport.checkIdle();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.queue.consumer === this) this.queue.consumer = undefined;
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
    this.transport.checkIdle();
  }
}

/** Options of {@link InMemoryTransport}. */
export interface InMemoryTransportOptions {
  /**
   * Keep at least this many of the latest accepted messages in {@link InMemoryTransport.log}
   * (at most twice as many), so a long-running process does not grow without bound.
   * @defaultValue all of them (the test kit reads them all)
   */
  readonly logLimit?: number;
}

/**
 * How many accepted messages the embedded default transport of an endpoint or module keeps in its
 * log: a look at the latest traffic. Few, because every message the log holds outlives the young
 * generation of the heap: with 10,000 kept, copying them out of it cost a running endpoint a fifth
 * of its CPU. (The test kit reads every message: it makes its own transport, with no limit.)
 */
export const EMBEDDED_LOG_LIMIT = 100;

/**
 * The embedded transport: queues in this process's memory, topic routing by message type, delayed
 * retries on a {@link Clock}, and an error queue per endpoint. It keeps the transport contract
 * (see `transport.ts`) except durability across process restarts. Used by the demo, by unit tests
 * and by the test kit, which read {@link InMemoryTransport.log} and the error queues.
 */
export class InMemoryTransport implements Transport {
  /** The `messaging.system` of its spans. */
  readonly messagingSystem = 'longhaul.memory';
  /**
   * The messages accepted, in order: all of them, or the latest `logLimit` (at least) when the
   * transport was given one (the endpoint's and the module's embedded default keep 10,000).
   */
  readonly log: TransportRecord[] = [];
  /** Every message accepted so far, counted (the {@link log} may have let the oldest go). */
  recorded = 0;
  private readonly logLimit: number;
  private readonly queues = new Map<string, Queue>();
  private readonly subscribers = new Map<string, Set<string>>();
  private pendingRetries = 0;
  private idleWaiters: (() => void)[] = [];
  private listeners: ((record: TransportRecord) => void)[] = [];

  constructor(
    private readonly clock: Clock = systemClock,
    options: InMemoryTransportOptions = {},
  ) {
    const limit = options.logLimit ?? Infinity;
    if (!(limit >= 0)) throw new TypeError(`InMemoryTransport: logLimit must be a number ≥ 0, not ${limit}`);
    this.logLimit = limit;
  }

  async declareEndpoint(topology: EndpointTopology): Promise<void> {
    const queue = this.queueOf(topology.name, true);
    const partitions = topology.partitions ?? 0;
    if (partitions > 0 && queue.partitions?.length !== partitions) {
      queue.partitions = Array.from({ length: partitions }, () => ({ messages: [], errors: [] }));
    }
    for (const type of topology.subscriptions) {
      let set = this.subscribers.get(type);
      if (!set) this.subscribers.set(type, (set = new Set()));
      set.add(topology.name);
    }
  }

  async publish(message: WireMessage): Promise<void> {
    const type = message.headers[Headers.type] ?? '';
    const endpoints = [...(this.subscribers.get(type) ?? [])];
    for (const endpoint of endpoints) this.enqueue(endpoint, message);
    this.record('publish', message, endpoints);
  }

  async send(message: WireMessage, endpoint: string): Promise<void> {
    if (!this.queues.has(endpoint)) {
      throw new UnroutableError(`No endpoint queue '${endpoint}' for message ${message.messageId}`);
    }
    this.enqueue(endpoint, message);
    this.record('send', message, [endpoint]);
  }

  async consume(endpoint: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<Consumer> {
    const main = this.queueOf(endpoint, true);
    const queue = options.partition === undefined ? main : main.partitions?.[options.partition];
    if (!queue) throw new RangeError(`Endpoint '${endpoint}' has no partition ${String(options.partition)}`);
    const consumer = new MemoryConsumer(queue, handler, options.concurrency, this, endpoint, main);
    queue.consumer = consumer;
    consumer.pump();
    return consumer;
  }

  async close(): Promise<void> {
    for (const queue of this.allQueues()) await queue.consumer?.stop();
  }

  /** Messages waiting in an endpoint's error queue. */
  errors(endpoint: string): readonly WireMessage[] {
    return this.queueOf(endpoint, false)?.errors ?? [];
  }

  /** Messages waiting in an endpoint's input queue, or all its partitions' (not yet delivered). */
  pending(endpoint: string): readonly WireMessage[] {
    const queue = this.queueOf(endpoint, false);
    return [queue, ...(queue?.partitions ?? [])].flatMap((q) => (q?.messages ?? []).map((d) => d.message));
  }

  /** Moves messages (all, or those with the given ids) from the error queue back to the input queue. */
  replayErrors(endpoint: string, ids?: readonly string[]): number {
    const queue = this.queueOf(endpoint, false);
    if (!queue) return 0;
    const chosen = queue.errors.filter((m) => !ids || ids.includes(m.messageId));
    for (const message of chosen) {
      queue.errors.splice(queue.errors.indexOf(message), 1);
      const headers = Object.fromEntries(
        Object.entries(message.headers).filter(
          ([key]) => !key.startsWith('longhaul.error.') && key !== Headers.delayedRetries,
        ),
      );
      this.enqueue(endpoint, { ...message, headers });
    }
    return chosen.length;
  }

  /** Removes messages (all, or those with the given ids) from the error queue; returns their ids. */
  deleteErrors(endpoint: string, ids?: readonly string[]): string[] {
    const queue = this.queueOf(endpoint, false);
    if (!queue) return [];
    const chosen = queue.errors.filter((m) => !ids || ids.includes(m.messageId));
    for (const message of chosen) queue.errors.splice(queue.errors.indexOf(message), 1);
    return chosen.map((m) => m.messageId);
  }

  /** Calls `listener` for every message accepted (for tracing and the demo). */
  onRecord(listener: (record: TransportRecord) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Resolves once no delivery is queued for a running consumer and none is in flight. Delayed
   * retries waiting on the clock do not count: they need time to move.
   */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  /** @internal */
  record(operation: TransportRecord['operation'], message: WireMessage, endpoints: readonly string[]): void {
    const record = { operation, message, endpoints };
    this.recorded++;
    if (this.logLimit > 0) this.log.push(record);
    // Trimmed in batches: the log holds between logLimit and twice as many records.
    if (this.log.length >= 2 * this.logLimit) this.log.splice(0, this.log.length - this.logLimit);
    for (const listener of this.listeners) listener(record);
  }

  /** @internal */
  scheduleRetry(
    endpoint: string,
    message: WireMessage,
    delayMs: number,
    headers: Record<string, string>,
  ): void {
    const retried = { ...message, headers: { ...message.headers, ...headers } };
    this.record('retry', retried, [endpoint]);
    this.pendingRetries++;
    void this.clock.sleep(delayMs).then(() => {
      this.pendingRetries--;
      this.enqueue(endpoint, retried);
    });
  }

  /** @internal */
  checkIdle(): void {
    if (this.idleWaiters.length === 0) return;
    for (const queue of this.allQueues()) {
      const consumer = queue.consumer;
      if (consumer && (consumer.inFlight > 0 || queue.messages.length > 0)) return;
    }
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Delayed retries waiting for their time (for tests). */
  get waitingRetries(): number {
    return this.pendingRetries;
  }

  private *allQueues(): Iterable<Queue> {
    for (const queue of this.queues.values()) yield* [queue, ...(queue.partitions ?? [])];
  }

  private enqueue(endpoint: string, message: WireMessage): void {
    const main = this.queueOf(endpoint, true);
    const partitions = main.partitions;
    // A partitioned endpoint: the partition of the message's key (its id if it has none).
    const queue = partitions
      ? (partitions[
          partitionOfKey(message.headers[Headers.partitionKey] ?? message.messageId, partitions.length)
        ] as Queue)
      : main;
    queue.messages.push({ message, redelivered: false });
    queue.consumer?.pump();
  }

  private queueOf(endpoint: string, create: true): Queue;
  private queueOf(endpoint: string, create: false): Queue | undefined;
  private queueOf(endpoint: string, create: boolean): Queue | undefined {
    let queue = this.queues.get(endpoint);
    if (!queue && create) this.queues.set(endpoint, (queue = { messages: [], errors: [] }));
    return queue;
  }
}
