import { Bus } from '../bus/bus.js';
import { EMBEDDED_LOG_LIMIT, InMemoryTransport } from '../bus/memory/in-memory-transport.js';
import { OutgoingCollector } from '../bus/outgoing.js';
import { ACK, withRecoverability } from '../bus/pipeline/recoverability.js';
import { Router } from '../bus/router.js';
import { type Delivery, type Disposition, type Transport } from '../bus/transport.js';
import { ConcurrencyError, ConfigurationError, LonghaulError, rootError } from '../errors.js';
import { handlerDefinitionOf } from '../handlers/handler.js';
import { MessageCodec } from '../messages/codec.js';
import { type Envelope } from '../messages/envelope.js';
import { defaultRegistry } from '../messages/registry.js';
import { InMemorySagaStore } from '../persistence/memory/in-memory-saga-store.js';
import { type SagaStore } from '../persistence/saga-store.js';
import { SagaDispatcher } from '../sagas/dispatcher.js';
import { type SagaDefinition } from '../sagas/metadata.js';
import { sagaEntries, validateDefinitions, validateResolution } from '../sagas/validation.js';
import { InMemoryTimeoutStore } from '../timeouts/memory/in-memory-timeout-store.js';
import { TimeoutScheduler } from '../timeouts/scheduler.js';
import { type TimeoutStore } from '../timeouts/timeout-store.js';
import { type Clock, systemClock } from '../util/clock.js';
import { consoleLogger, type Logger } from '../util/logger.js';
import { MessageDispatcher } from './message-dispatcher.js';
import { type EndpointOptions, resolveOptions, type ResolvedOptions } from './options.js';
import { type EndpointCounters, newCounters } from './counters.js';
import { OutboxDispatcher } from './outbox.js';
import { OutboxDeadLetters } from './outbox-dead-letters.js';
import { OutboxSweeper } from './outbox-sweeper.js';
import { fromStoredMessage } from '../persistence/saga-store.js';
import { WorkflowClient } from '../workflows/client.js';
import { workflowNameOf } from '../workflows/definitions.js';
import { workflowParts } from '../workflows/wiring.js';
import { workflowTargeting } from './workflow-targeting.js';
import { EntityClient } from '../entities/client.js';
import { entityParts } from '../entities/wiring.js';
import { withTraceIds } from '../telemetry/log-context.js';
import { Telemetry } from '../telemetry/telemetry.js';
import { gaugeSources } from './gauge-sources.js';
import { consumeEndpoint, type EndpointConsumer, partitionLeasesFor } from './partition-wiring.js';

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
    entities: EntityClient;
    deadLetters: OutboxDeadLetters;
    telemetry: Telemetry;
  };
  private readonly counting: EndpointCounters = newCounters();
  private consumer?: EndpointConsumer;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';

  constructor(private readonly options: EndpointOptions) {
    this.clock = options.clock ?? systemClock;
    this.transport = options.transport ?? new InMemoryTransport(this.clock, { logLimit: EMBEDDED_LOG_LIMIT });
    this.sagaStore = options.sagaStore ?? new InMemorySagaStore();
    this.timeoutStore = options.timeoutStore ?? new InMemoryTimeoutStore();
    this.logger = withTraceIds(options.logger ?? consoleLogger('info'));
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

  /** The client that signals, calls, reads and deletes entities (see docs/entities.md). */
  get entities(): EntityClient {
    return this.wire().entities;
  }

  /** An entity client whose operations go to `endpoint` (sharing this one's saga store). */
  entitiesAt(endpoint: string): EntityClient {
    return new EntityClient(this.wire().bus, this.sagaStore, endpoint, this.codec.maxBodyBytes);
  }

  /** Validates, declares queues and subscriptions, then starts consuming, scheduling and sweeping. */
  async start(): Promise<void> {
    if (this.state !== 'new' && this.state !== 'stopped') {
      throw new LonghaulError('endpoint-state', `Endpoint '${this.options.name}' is ${this.state}`);
    }
    this.state = 'starting';
    try {
      const wiring = this.wire();
      validateResolution(this.resolvable, this.options.resolve);
      const options = this.resolved as ResolvedOptions;
      await this.sagaStore.init();
      await this.timeoutStore.init();
      const handled = wiring.dispatcher.handledTypes();
      if (handled.length > 0) {
        this.consumer = await consumeEndpoint(handled, {
          ...{ transport: this.transport, options, logger: this.logger },
          handler: (d) => this.onDelivery(d),
          leases: () => partitionLeasesFor(this.options.partitionLeases, this.sagaStore, this.clock),
        });
      } else {
        // Send-only: it handles nothing, so it declares no queue; connect now to fail fast.
        await this.transport.start?.();
      }
      wiring.scheduler.start();
      wiring.sweeper.start();
      this.state = 'running';
      this.logger.info(handled.length > 0 ? 'endpoint started' : 'send-only endpoint started (no queue)', {
        endpoint: options.name,
        handles: handled.length,
      });
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

  /** The outbox's dead letters: list, replay (same message id) and delete them. */
  get outboxDeadLetters(): OutboxDeadLetters {
    return this.wire().deadLetters;
  }

  /** Age in ms of the oldest entry in any outbox of the saga store (`undefined`: none pending). */
  oldestPendingOutboxAgeMs(): Promise<number | undefined> {
    return this.wire().sweeper.oldestPendingAgeMs();
  }

  /** The partitions of a partitioned endpoint this process consumes now (empty otherwise). */
  get partitions(): ReadonlySet<number> {
    return this.consumer?.owned ?? new Set();
  }

  /** This process's counters since it started (a snapshot; see {@link EndpointCounters}). */
  get counters(): Readonly<EndpointCounters> {
    return { ...this.counting };
  }

  /** Delivers due timeouts now (tests, tooling); returns how many were delivered. */
  async deliverDueTimeouts(): Promise<number> {
    return (await this.wire().scheduler.runOnce()).delivered;
  }

  private onDelivery(delivery: Delivery): Promise<Disposition> {
    const telemetry = this.wire().telemetry;
    if (!telemetry.live) return this.handleDelivery(delivery);
    return telemetry.process(delivery.message, () => this.handleDelivery(delivery));
  }

  /** The endpoint's clock as a function (made once: every delivery passes it on). */
  private readonly now = (): Date => this.clock.now();

  private async handleDelivery(delivery: Delivery): Promise<Disposition> {
    const options = this.resolved as ResolvedOptions;
    const wiring = this.wire();
    let envelope: Envelope;
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
        this.now,
        () => Promise.reject(error),
        (failure, _attempt, next) =>
          wiring.telemetry.failure(delivery.message.headers['longhaul.type'] ?? 'unknown', next, failure),
      );
    }
    // The first attempt runs here, without callbacks; only a failure builds the retry loop.
    try {
      const handled = await wiring.dispatcher.dispatch(envelope);
      this.options.onHandled?.(handled);
      return ACK;
    } catch (error) {
      return this.recover(envelope, { error });
    }
  }

  /** Retries a message whose first attempt failed, then acks it or answers a retry / the error queue. */
  private recover(envelope: Envelope, firstFailure: { readonly error: unknown }): Promise<Disposition> {
    const options = this.resolved as ResolvedOptions;
    const wiring = this.wire();
    return withRecoverability(
      options,
      envelope.headers,
      options.name,
      this.now,
      async () => {
        const handled = await wiring.dispatcher.dispatch(envelope);
        this.options.onHandled?.(handled);
      },
      (error, attempt, next) => {
        wiring.telemetry.failure(envelope.type, next, error);
        const fields = {
          type: envelope.type,
          messageId: envelope.id,
          attempt,
          next,
          error: (error as Error).message,
        };
        // A version conflict that an immediate retry reruns on fresh state is ordinary under load.
        if (rootError(error) instanceof ConcurrencyError && next === 'immediate-retry') {
          this.logger.debug('version conflicts persisted, retrying at once', fields);
        } else if (rootError(error) instanceof ConcurrencyError) {
          this.logger.warn('version conflict retries exhausted', fields);
        } else this.logger.warn('handler failed', fields);
      },
      firstFailure,
    );
  }

  /** The user's saga and handler classes, built once at start to fail fast on a missing binding. */
  private resolvable: { readonly ctor: new (...args: any[]) => object; readonly field: string }[] = [];

  private wire(): NonNullable<Endpoint['wiring']> {
    if (this.wiring) return this.wiring;
    const options = (this.resolved = resolveOptions(this.options));
    const sagaList = sagaEntries(this.options.sagas ?? []);
    const sagas: SagaDefinition[] = sagaList.map((entry) => entry.definition);
    const handlers = (this.options.handlers ?? []).map((ctor, i) => {
      try {
        return handlerDefinitionOf(ctor);
      } catch (error) {
        throw new ConfigurationError(`handlers[${i}]`, (error as Error).message);
      }
    });
    const telemetry = new Telemetry(
      options.name,
      this.transport.messagingSystem ?? 'longhaul',
      this.options.telemetry ?? {},
    );
    const workflowPieces = workflowParts(
      this.options.workflows ?? [],
      this.options.activities ?? [],
      this.options.workflowOptions ?? {},
      {
        endpoint: options.name,
        logger: this.logger,
        resolve: this.options.resolve ?? ((ctor) => new ctor()),
        store: this.sagaStore,
        sendNow: async (message, to) => void (await this.wire().bus.send(message, { to })),
        maxBodyBytes: this.codec.maxBodyBytes,
        telemetry,
      },
    );
    const entityPieces = entityParts(this.options.entities ?? [], this.options.entityOptions ?? {}, {
      endpoint: options.name,
      logger: this.logger,
      resolve: this.options.resolve ?? ((ctor) => new ctor()),
      maxBodyBytes: this.codec.maxBodyBytes,
    });
    validateDefinitions(
      [
        ...sagaList,
        ...workflowPieces.sagas.map((definition) => ({ definition, field: 'workflows', user: false })),
        ...entityPieces.sagas.map((definition) => ({ definition, field: 'entities', user: false })),
      ],
      defaultRegistry,
    );
    // Built once at start (not here: a class may inject this endpoint's own bus or client).
    this.resolvable = [
      ...sagas.map((s, i) => ({ ctor: s.ctor, field: `sagas[${i}]` })),
      ...handlers.map((h, i) => ({ ctor: h.ctor, field: `handlers[${i}]` })),
      ...(this.options.entities ?? []).map((e, i) => ({
        ctor: e as new (...args: any[]) => object,
        field: `entities[${i}]`,
      })),
    ];
    sagas.push(...workflowPieces.sagas, ...entityPieces.sagas);
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
      (timeout) =>
        !telemetry.live
          ? this.transport.send(fromStoredMessage(timeout.message), timeout.destination)
          : telemetry.deliverTimeout(
              fromStoredMessage(timeout.message),
              timeout.dueAt,
              now(),
              timeout.destination,
              (wire) => this.transport.send(wire, timeout.destination),
            ),
      this.clock,
      this.logger,
      {
        pollIntervalMs: options.pollIntervalMs,
        batchSize: options.timeoutBatchSize,
        leaseMs: options.timeoutLeaseMs,
        concurrency: options.timeoutConcurrency,
        maxAttempts: options.timeoutMaxAttempts,
        retryDelayMs: options.timeoutRetryDelayMs,
        maxRetryDelayMs: options.timeoutMaxRetryDelayMs,
      },
    );
    const outbox = new OutboxDispatcher(
      this.transport,
      this.timeoutStore,
      this.sagaStore,
      (dueAt) => scheduler.poke(dueAt),
      {
        now,
        logger: this.logger,
        counters: this.counting,
        telemetry,
        policy: {
          leaseMs: options.outboxLeaseMs,
          maxAttempts: options.outboxMaxAttempts,
          retryDelayMs: options.outboxRetryDelayMs,
          retryMaxDelayMs: options.outboxRetryMaxDelayMs,
        },
      },
    );
    const sagaDispatcher = new SagaDispatcher({
      store: this.sagaStore,
      logger: this.logger,
      endpoint: options.name,
      now,
      resolve,
      collector,
      outbox,
      counters: this.counting,
      options,
      telemetry,
    });
    const dispatcher = new MessageDispatcher(sagas, handlers, sagaDispatcher, {
      resolve,
      collector,
      dispatchDirect: (entries) => outbox.dispatch(entries),
      now,
      telemetry,
    });
    const bus = new Bus(this.codec, router, now, (entries) => outbox.dispatch(entries), options.name);
    const hostedWorkflows = new Set((this.options.workflows ?? []).map((w) => workflowNameOf(w)));
    const workflows = new WorkflowClient(
      bus,
      this.sagaStore,
      options.name,
      this.codec.maxBodyBytes,
      workflowTargeting(options.name, hostedWorkflows, this.options.workflowRoutes ?? {}),
    );
    const sweeper = new OutboxSweeper(this.sagaStore, outbox, this.clock, this.logger, {
      intervalMs: options.sweepIntervalMs,
      warnAgeMs: 2 * options.outboxLeaseMs,
    });
    const deadLetters = new OutboxDeadLetters(
      this.sagaStore.deadLetters,
      (entries) => outbox.dispatch(entries),
      this.logger,
    );
    telemetry.observe(
      gaugeSources({
        sagaStore: this.sagaStore,
        timeoutStore: this.timeoutStore,
        oldestPendingAgeMs: () => sweeper.last?.oldestPendingAgeMs,
        now,
      }),
    );
    const entities = new EntityClient(bus, this.sagaStore, undefined, this.codec.maxBodyBytes);
    const parts = { bus, dispatcher, scheduler, sweeper, outbox, workflows, entities, deadLetters };
    return (this.wiring = { ...parts, telemetry });
  }
}
