import { type Channel } from 'amqplib';
import { type EndpointTopology } from '../transport.js';
import { type ConnectionManager } from './connection.js';
import { replyCodeOf, RabbitMqTopologyError } from './errors.js';
import { type QueueType } from './options.js';
import { declarePartitions, exchangeExists } from './partition-topology.js';

/** The exchange and queue names of one prefix. */
export class TopologyNames {
  /** The events exchange. */
  readonly exchange: string;

  constructor(
    readonly prefix: string,
    exchange: string,
  ) {
    this.exchange = `${prefix}${exchange}`;
  }

  /** An endpoint's input queue. */
  queue(endpoint: string): string {
    return `${this.prefix}${endpoint}`;
  }

  /** A partitioned endpoint's consistent-hash exchange (see `partition-topology.ts`). */
  partitionExchange(endpoint: string): string {
    return `${this.prefix}${endpoint}.partitions`;
  }

  /** An endpoint's error queue. */
  errorQueue(endpoint: string): string {
    return `${this.prefix}${endpoint}.error`;
  }

  /** The queue that holds an endpoint's messages for `delayMs`, then dead-letters them back. */
  retryQueue(endpoint: string, delayMs: number): string {
    return `${this.prefix}${endpoint}.retry.${delayMs}ms`;
  }
}

const ENDPOINT = /^[A-Za-z0-9_.:-]{1,200}$/;

/** Checks an endpoint name can become queue names without colliding with another endpoint's. */
export function checkEndpointName(endpoint: string): void {
  if (typeof endpoint !== 'string' || !ENDPOINT.test(endpoint)) {
    throw new RabbitMqTopologyError(
      `Endpoint name ${JSON.stringify(endpoint)} cannot name a queue: use 1–200 letters, digits or '._:-'`,
    );
  }
  if (endpoint.endsWith('.error') || /\.retry\.\d+ms$/.test(endpoint) || /\.p\d+$/.test(endpoint)) {
    throw new RabbitMqTopologyError(
      `Endpoint name '${endpoint}' would collide with another endpoint's error, retry or partition queue`,
    );
  }
}

/**
 * Declares exchanges, queues and bindings, all durable and idempotent, and remembers them: the
 * declarations are repeated on each new connection before use (a broker that lost them, e.g. after
 * a node replacement, gets them back), and tests can delete what they declared.
 */
export class Topology {
  private readonly endpoints = new Map<string, { subscriptions: Set<string>; partitions: number }>();
  private readonly declaredQueues = new Set<string>();
  private readonly declaredExchanges = new Set<string>();
  private partitionedCache = new Map<string, Promise<boolean>>();
  private exchangeDeclared = false;
  private cache = new Map<string, Promise<void>>();
  private cacheGeneration = 0;

  constructor(
    private readonly connection: ConnectionManager,
    readonly names: TopologyNames,
    private readonly queueType: QueueType,
  ) {}

  /** Declares the exchange, the endpoint's queue and error queue, and binds its subscriptions. */
  async declareEndpoint(topology: EndpointTopology): Promise<void> {
    checkEndpointName(topology.name);
    let known = this.endpoints.get(topology.name);
    if (!known) this.endpoints.set(topology.name, (known = { subscriptions: new Set(), partitions: 0 }));
    for (const type of topology.subscriptions) known.subscriptions.add(type);
    known.partitions = topology.partitions ?? 0;
    const { partitions } = known;
    await this.withChannel((channel) =>
      this.declare(channel, topology.name, [...topology.subscriptions], partitions),
    );
  }

  /**
   * Whether `endpoint` is partitioned: declared so here, or its hash exchange exists on the broker
   * (looked up once per connection, so a sender needs no configuration to reach its partitions).
   */
  async partitioned(endpoint: string): Promise<boolean> {
    const known = this.endpoints.get(endpoint);
    if (known) return known.partitions > 0;
    const live = await this.connection.ready();
    this.renew(live.generation);
    let pending = this.partitionedCache.get(endpoint);
    if (!pending) {
      pending = exchangeExists(() => live.model.createChannel(), this.names.partitionExchange(endpoint));
      this.partitionedCache.set(endpoint, pending);
      pending.catch(() => this.partitionedCache.delete(endpoint));
    }
    return pending;
  }

  /** Re-declares an endpoint declared earlier, once per connection (before consuming from it). */
  ensureEndpoint(endpoint: string): Promise<void> {
    const known = this.endpoints.get(endpoint);
    if (!known) return Promise.resolve();
    return this.once(`endpoint:${endpoint}`, () =>
      this.withChannel((channel) =>
        this.declare(channel, endpoint, [...known.subscriptions], known.partitions),
      ),
    );
  }

  /** Declares the events exchange, once per connection. */
  ensureExchange(): Promise<void> {
    return this.once('exchange', () =>
      this.withChannel(async (channel) => {
        await this.assert(`exchange '${this.names.exchange}'`, () =>
          channel.assertExchange(this.names.exchange, 'topic', { durable: true }),
        );
        this.exchangeDeclared = true;
      }),
    );
  }

  /**
   * The retry queue for `delayMs`, declared on first use (once per connection), dead-lettering
   * back to the queue of `endpoint` (a partition's name for a partition: `<endpoint>.p<i>`).
   */
  async retryQueue(endpoint: string, delayMs: number): Promise<string> {
    const name = this.names.retryQueue(endpoint, delayMs);
    await this.once(`retry:${name}`, () =>
      this.withChannel(async (channel) => {
        const args: Record<string, unknown> = {
          ...this.typeArguments(),
          'x-message-ttl': delayMs,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': this.names.queue(endpoint),
        };
        await this.assert(`queue '${name}'`, () =>
          channel.assertQueue(name, { durable: true, arguments: args }),
        );
        this.declaredQueues.add(name);
      }),
    );
    return name;
  }

  /** Forgets a retry queue's cached declaration (a publish to it came back unroutable). */
  forgetRetryQueue(queue: string): void {
    this.cache.delete(`retry:${queue}`);
  }

  /** Forgets an endpoint's cached declaration (the broker cancelled its consumer: queue deleted?). */
  forgetEndpoint(endpoint: string): void {
    this.cache.delete(`endpoint:${endpoint}`);
  }

  /** Names of everything this instance declared (`exchanges`: partitioned endpoints' hash exchanges). */
  declared(): {
    readonly exchange?: string;
    readonly queues: readonly string[];
    readonly exchanges: readonly string[];
  } {
    return {
      exchange: this.exchangeDeclared ? this.names.exchange : undefined,
      queues: [...this.declaredQueues],
      exchanges: [...this.declaredExchanges],
    };
  }

  /** Deletes every queue (with its messages) and the exchange this instance declared. */
  async deleteDeclared(): Promise<void> {
    const { exchange, queues } = this.declared();
    await this.withChannel(async (channel) => {
      for (const queue of queues) await channel.deleteQueue(queue);
      for (const other of this.declaredExchanges) await channel.deleteExchange(other);
      if (exchange !== undefined) await channel.deleteExchange(exchange);
    });
    this.declaredQueues.clear();
    this.declaredExchanges.clear();
    this.endpoints.clear();
    this.exchangeDeclared = false;
    this.cache.clear();
  }

  private async declare(
    channel: Channel,
    endpoint: string,
    subscriptions: readonly string[],
    partitions: number,
  ): Promise<void> {
    const { names } = this;
    const queue = names.queue(endpoint);
    const errorQueue = names.errorQueue(endpoint);
    await this.assert(`exchange '${names.exchange}'`, () =>
      channel.assertExchange(names.exchange, 'topic', { durable: true }),
    );
    this.exchangeDeclared = true;
    // A quorum queue dead-letters a message past the broker's delivery limit (20 by default from
    // RabbitMQ 4.0): send it to the error queue rather than dropping it.
    const overLimit =
      this.queueType === 'quorum'
        ? { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': errorQueue }
        : {};
    const queueArguments = { ...this.typeArguments(), ...overLimit };
    if (partitions > 0) {
      await declarePartitions(channel, {
        ...{ names, endpoint, partitions, subscriptions, queueArguments },
        assert: (what, operation) => this.assert(what, operation),
        declared: (name) => this.declaredQueues.add(name),
      });
      this.declaredExchanges.add(names.partitionExchange(endpoint));
    } else {
      await this.assert(`queue '${queue}'`, () =>
        channel.assertQueue(queue, { durable: true, arguments: queueArguments }),
      );
      this.declaredQueues.add(queue);
    }
    // Listing an error queue takes its messages and returns them; on a quorum queue each return
    // counts as a delivery, so lift the delivery limit far above any number of listings.
    const errorArgs =
      this.queueType === 'quorum' ? { 'x-queue-type': 'quorum', 'x-delivery-limit': 1_000_000 } : {};
    await this.assert(`queue '${errorQueue}'`, () =>
      channel.assertQueue(errorQueue, { durable: true, arguments: errorArgs }),
    );
    this.declaredQueues.add(errorQueue);
    for (const type of partitions > 0 ? [] : subscriptions) {
      await this.assert(`binding of '${queue}' to '${type}'`, () =>
        channel.bindQueue(queue, names.exchange, type),
      );
    }
  }

  /** Arguments of a queue that dead-letters; from a quorum queue, dead-lettering is at-least-once. */
  private typeArguments(): Record<string, unknown> {
    if (this.queueType !== 'quorum') return {};
    return {
      'x-queue-type': 'quorum',
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    };
  }

  private async assert(what: string, operation: () => Promise<unknown>): Promise<void> {
    try {
      await operation();
    } catch (error) {
      const detail = (error as Error).message;
      const code = replyCodeOf(error);
      const hint =
        code === 406
          ? ` it exists with other arguments than this transport declares (queue type '${this.queueType}'?);` +
            ' drain and delete it, or configure what it has'
          : code === 403
            ? ' the user lacks the configure/write permission for it'
            : '';
      throw new RabbitMqTopologyError(`Cannot declare ${what}:${hint} (${detail})`, { cause: error });
    }
  }

  private async once(key: string, declare: () => Promise<void>): Promise<void> {
    this.renew((await this.connection.ready()).generation);
    let pending = this.cache.get(key);
    if (!pending) {
      pending = declare();
      this.cache.set(key, pending);
      pending.catch(() => {
        if (this.cache.get(key) === pending) this.cache.delete(key);
      });
    }
    return pending;
  }

  /** Forgets what was declared or looked up on an earlier connection. */
  private renew(generation: number): void {
    if (generation === this.cacheGeneration) return;
    this.cache.clear();
    this.partitionedCache.clear();
    this.cacheGeneration = generation;
  }

  private async withChannel<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
    const live = await this.connection.ready();
    const channel = await live.model.createChannel();
    // A failed declaration closes the channel; its promise carries the error.
    channel.on('error', () => undefined);
    try {
      return await work(channel);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }
}
