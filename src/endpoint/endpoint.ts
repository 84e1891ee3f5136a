import { Bus } from '../bus/bus.js';
import { InMemoryTransport } from '../bus/memory/in-memory-transport.js';
import { OutgoingCollector } from '../bus/outgoing.js';
import { withRecoverability } from '../bus/pipeline/recoverability.js';
import { Router } from '../bus/router.js';
import { type Consumer, type Delivery, type Disposition, type Transport } from '../bus/transport.js';
import { ConfigurationError, LonghaulError } from '../errors.js';
import { handlerDefinitionOf } from '../handlers/handler.js';
import { MessageCodec } from '../messages/codec.js';
import { type Envelope } from '../messages/envelope.js';
import { defaultRegistry } from '../messages/registry.js';
import { InMemorySagaStore } from '../persistence/memory/in-memory-saga-store.js';
import { type SagaStore } from '../persistence/saga-store.js';
import { SagaDispatcher } from '../sagas/dispatcher.js';
import { sagaDefinitionOf, type SagaDefinition } from '../sagas/metadata.js';
import { InMemoryTimeoutStore } from '../timeouts/memory/in-memory-timeout-store.js';
import { TimeoutScheduler } from '../timeouts/scheduler.js';
import { type TimeoutStore } from '../timeouts/timeout-store.js';
import { type Clock, systemClock } from '../util/clock.js';
import { consoleLogger, type Logger } from '../util/logger.js';
import { MessageDispatcher } from './message-dispatcher.js';
import { type EndpointOptions, resolveOptions, type ResolvedOptions } from './options.js';
import { OutboxDispatcher, OutboxSweeper } from './outbox.js';
import { fromStoredMessage } from '../persistence/saga-store.js';
import { WorkflowClient } from '../workflows/client.js';
import { workflowParts } from '../workflows/wiring.js';

/**
 * A running unit of message handling: one input queue, the sagas and handlers that consume it, the
 * timeout scheduler and the outbox sweeper. `start()` validates the configuration, declares the
 * topology and starts consuming; `stop()` drains handlers in flight, then stops.
 * @example
 * ```ts
 * const endpoint = new Endpoint({ name: 'shop', sagas: [OrderFulfilment], handlers: [PaymentService] });
 * await endpoint.start();
 * await endpoint.bus.publish(new OrderPlaced('o-1', 42));
 * ```
 */
export class Endpoint {
  readonly transport: Transport;
  readonly sagaStore: SagaStore;
  readonly timeoutStore: TimeoutStore;
  readonly clock: Clock;
  readonly logger: Logger;
  private readonly codec: MessageCodec;
  private resolved?: ResolvedOptions;
  private wiring?: {
    bus: Bus;
    dispatcher: MessageDispatcher;
    scheduler: TimeoutScheduler;
    sweeper: OutboxSweeper;
    outbox: OutboxDispatcher;
    workflows: WorkflowClient;
  };
  private consumer?: Consumer;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';

  constructor(private readonly options: EndpointOptions) {
    this.clock = options.clock ?? systemClock;
    this.transport = options.transport ?? new InMemoryTransport(this.clock);
    this.sagaStore = options.sagaStore ?? new InMemorySagaStore();
    this.timeoutStore = options.timeoutStore ?? new InMemoryTimeoutStore();
    this.logger = options.logger ?? consoleLogger('info');
    this.codec = new MessageCodec({
      maxBodyBytes: typeof options.maxBodyBytes === 'number' ? options.maxBodyBytes : undefined,
      registry: defaultRegistry,
    });
  }

  /** The endpoint name. */
  get name(): string {
    return this.options.name;
  }

  /** The bus for sending and publishing from outside handlers (valid once built by `start()` or `bus`). */
  get bus(): Bus {
    return this.wire().bus;
  }

  /** The client that starts, signals and queries this endpoint's workflow instances. */
  get workflows(): WorkflowClient {
    return this.wire().workflows;
  }

  /** A client for the workflow instances hosted by another endpoint (sharing this one's saga store). */
  workflowsAt(endpoint: string): WorkflowClient {
    return new WorkflowClient(this.wire().bus, this.sagaStore, endpoint, this.codec.maxBodyBytes);
  }

  /** Validates, declares queues and subscriptions, then starts consuming, scheduling and sweeping. */
  async start(): Promise<void> {
    if (this.state !== 'new' && this.state !== 'stopped') {
      throw new LonghaulError('endpoint-state', `Endpoint '${this.options.name}' is ${this.state}`);
    }
    this.state = 'starting';
    try {
      const wiring = this.wire();
      const options = this.resolved as ResolvedOptions;
      await this.sagaStore.init();
      await this.timeoutStore.init();
      const handled = wiring.dispatcher.handledTypes();
      const subscriptions = handled.filter((type) => defaultRegistry.lookup(type)?.kind === 'event');
      await this.transport.declareEndpoint({ name: options.name, subscriptions });
      this.consumer = await this.transport.consume(options.name, (d) => this.onDelivery(d), {
        concurrency: options.concurrency,
      });
      wiring.scheduler.start();
      wiring.sweeper.start();
      this.state = 'running';
      this.logger.info('endpoint started', { endpoint: options.name, handles: handled.length });
    } catch (error) {
      this.state = 'new';
      throw error;
    }
  }

  /**
   * Stops taking messages, waits for handlers in flight, then stops the scheduler and sweeper. The
   * transport and stores stay open (they may be shared); {@link Endpoint.close} closes them too.
   */
  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    await this.consumer?.stop();
    this.consumer = undefined;
    await this.wiring?.scheduler.stop();
    await this.wiring?.sweeper.stop();
    this.state = 'stopped';
    this.logger.info('endpoint stopped', { endpoint: this.options.name });
  }

  /** Stops (see {@link Endpoint.stop}), then closes the transport and both stores. */
  async close(): Promise<void> {
    await this.stop();
    await this.transport.close();
    await this.sagaStore.close();
    await this.timeoutStore.close();
  }

  /** Runs one outbox sweep now (tests, tooling); returns the entries dispatched. */
  sweepOutbox(): Promise<number> {
    return this.wire().sweeper.sweepOnce();
  }

  /** Delivers due timeouts now (tests, tooling); returns how many were delivered. */
  async deliverDueTimeouts(): Promise<number> {
    return (await this.wire().scheduler.runOnce()).delivered;
  }

  private async onDelivery(delivery: Delivery): Promise<Disposition> {
    const options = this.resolved as ResolvedOptions;
    let envelope: Envelope;
    const now = (): Date => this.clock.now();
    try {
      envelope = this.codec.decode(delivery.message);
    } catch (error) {
      this.logger.warn('undecodable message sent to the error queue', {
        messageId: delivery.message.messageId,
        error: (error as Error).message,
      });
      return withRecoverability(
        options,
        {},
        options.name,
        now,
        () => Promise.reject(error),
        () => {},
      );
    }
    return withRecoverability(
      options,
      envelope.headers,
      options.name,
      now,
      async () => {
        const handled = await this.wire().dispatcher.dispatch(envelope);
        this.options.onHandled?.(handled);
      },
      (error, attempt) =>
        this.logger.warn('handler failed', {
          type: envelope.type,
          messageId: envelope.id,
          attempt,
          error: (error as Error).message,
        }),
    );
  }

  /** Validates options and builds the parts once. */
  private wire(): NonNullable<Endpoint['wiring']> {
    if (this.wiring) return this.wiring;
    const options = (this.resolved = resolveOptions(this.options));
    const sagas = (this.options.sagas ?? []).map((ctor, i): SagaDefinition => {
      const definition = sagaDefinitionOf(ctor);
      if (!definition)
        throw new ConfigurationError(`sagas[${i}]`, `${ctor.name} is not decorated with @Saga`);
      return definition;
    });
    const handlers = (this.options.handlers ?? []).map((ctor, i) => {
      try {
        return handlerDefinitionOf(ctor);
      } catch (error) {
        throw new ConfigurationError(`handlers[${i}]`, (error as Error).message);
      }
    });
    const workflowPieces = workflowParts(
      this.options.workflows ?? [],
      this.options.activities ?? [],
      this.options.workflowOptions ?? {},
      {
        endpoint: options.name,
        logger: this.logger,
        resolve: this.options.resolve ?? ((ctor) => new ctor()),
        store: this.sagaStore,
        maxBodyBytes: this.codec.maxBodyBytes,
      },
    );
    sagas.push(...workflowPieces.sagas);
    handlers.push(...workflowPieces.handlers);
    const localTypes = new Set([
      ...sagas.flatMap((s) => [...s.handlers.keys()]),
      ...handlers.flatMap((h) => h.messageTypes.map((t) => t.name)),
    ]);
    const router = new Router(options.routes, options.name, localTypes);
    const now = (): Date => this.clock.now();
    const resolve = this.options.resolve ?? ((ctor) => new ctor());
    const collector = (incoming: Envelope, scope: string): OutgoingCollector =>
      new OutgoingCollector(incoming, scope, this.codec, router, now());
    const scheduler = new TimeoutScheduler(
      this.timeoutStore,
      (timeout) => this.transport.send(fromStoredMessage(timeout.message), timeout.destination),
      this.clock,
      this.logger,
      {
        pollIntervalMs: options.pollIntervalMs,
        batchSize: options.timeoutBatchSize,
        leaseMs: options.timeoutLeaseMs,
      },
    );
    const outbox = new OutboxDispatcher(this.transport, this.timeoutStore, this.sagaStore, (dueAt) =>
      scheduler.poke(dueAt),
    );
    const sagaDispatcher = new SagaDispatcher({
      store: this.sagaStore,
      logger: this.logger,
      endpoint: options.name,
      now,
      resolve,
      collector,
      dispatch: (record, entries) => outbox.dispatchCommitted(record, entries),
      options,
    });
    const dispatcher = new MessageDispatcher(sagas, handlers, sagaDispatcher, {
      resolve,
      collector,
      dispatchDirect: (entries) => outbox.dispatch(entries),
      now,
    });
    const bus = new Bus(this.codec, router, now, (entries) => outbox.dispatch(entries), options.name);
    const workflows = new WorkflowClient(bus, this.sagaStore, options.name, this.codec.maxBodyBytes);
    const sweeper = new OutboxSweeper(this.sagaStore, outbox, this.clock, this.logger, {
      intervalMs: options.sweepIntervalMs,
      leaseMs: options.outboxLeaseMs,
    });
    this.wiring = { bus, dispatcher, scheduler, sweeper, outbox, workflows };
    return this.wiring;
  }
}
