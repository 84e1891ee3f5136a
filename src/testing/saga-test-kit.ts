import { Container } from 'inversify';
import { InMemoryTransport, type TransportRecord } from '../bus/memory/in-memory-transport.js';
import { Endpoint } from '../endpoint/endpoint.js';
import { type EndpointOptions } from '../endpoint/options.js';
import { longhaulModule } from '../di/module.js';
import { fromJson, MessageCodec, type WireMessage } from '../messages/codec.js';
import { type Envelope, Headers } from '../messages/envelope.js';
import {
  defaultRegistry,
  type MessageClass,
  messageTypeOf,
  messageTypeOfInstance,
} from '../messages/registry.js';
import { InMemorySagaStore } from '../persistence/memory/in-memory-saga-store.js';
import { sagaDefinitionOf } from '../sagas/metadata.js';
import { InMemoryTimeoutStore } from '../timeouts/memory/in-memory-timeout-store.js';
import { VirtualClock, yieldToEventLoop } from '../util/clock.js';
import { type Duration } from '../util/duration.js';
import { newId } from '../util/ids.js';
import { silentLogger } from '../util/logger.js';
import { type WorkflowClient } from '../workflows/client.js';
import { type WorkflowClass } from '../workflows/definitions.js';

/** Options of {@link SagaTestKit.start}. */
export interface SagaTestKitOptions extends Omit<
  EndpointOptions,
  'name' | 'transport' | 'sagaStore' | 'timeoutStore' | 'clock'
> {
  /** The endpoint name. @defaultValue 'test' */
  name?: string;
  /** Where the virtual clock starts. @defaultValue 2026-01-01T00:00:00Z */
  startAt?: Date;
  /** Binds your sagas' dependencies (fakes or real ones). @defaultValue none */
  configure?: (container: Container) => void;
}

/** A timeout waiting to fire, as {@link SagaTestKit.timeouts} reports it. */
export interface ScheduledTimeout {
  readonly id: string;
  readonly dueAt: Date;
  readonly message: object;
}

/** A message the endpoint emitted, decoded. */
export interface EmittedMessage<T extends object = object> {
  readonly operation: 'publish' | 'send';
  readonly destination?: string;
  readonly envelope: Envelope<T>;
}

/**
 * Runs sagas and handlers on the in-memory transport and stores with a virtual clock: deliver
 * messages (`given`/`when`), read state, emitted messages and scheduled timeouts, and move time
 * forward to fire timeouts. Every call returns once the endpoint is idle.
 * @example
 * ```ts
 * const kit = await SagaTestKit.start({ sagas: [OrderFulfilment], routes: { 'payments.*': 'payments' } });
 * await kit.given(new OrderPlaced('o-1', 42));
 * expect(kit.sent(ChargePayment)).toEqual([new ChargePayment('o-1', 42)]);
 * await kit.advance('15m');
 * expect(await kit.state(OrderFulfilment, 'o-1')).toBeUndefined();
 * ```
 */
export class SagaTestKit {
  private constructor(
    readonly endpoint: Endpoint,
    readonly transport: InMemoryTransport,
    readonly sagaStore: InMemorySagaStore,
    readonly timeoutStore: InMemoryTimeoutStore,
    readonly clock: VirtualClock,
    readonly container: Container,
  ) {}

  /** Builds, starts and returns a kit. */
  static async start(options: SagaTestKitOptions): Promise<SagaTestKit> {
    const clock = new VirtualClock(options.startAt);
    const transport = new InMemoryTransport(clock);
    const sagaStore = new InMemorySagaStore();
    const timeoutStore = new InMemoryTimeoutStore();
    const container = new Container();
    options.configure?.(container);
    container.load(
      longhaulModule({
        logger: silentLogger,
        ...options,
        name: options.name ?? 'test',
        transport,
        sagaStore,
        timeoutStore,
        clock,
        timeouts: { pollInterval: Infinity, ...options.timeouts },
        outbox: { sweepInterval: Infinity, ...options.outbox },
      }),
    );
    for (const endpoint of new Set(Object.values(options.routes ?? {}))) {
      await transport.declareEndpoint({ name: endpoint, subscriptions: [] });
    }
    const endpoint = container.get(Endpoint);
    await endpoint.start();
    return new SagaTestKit(endpoint, transport, sagaStore, timeoutStore, clock, container);
  }

  /** The workflow client of the kit's endpoint (start, signal, status…); wait with {@link SagaTestKit.idle}. */
  get workflows(): WorkflowClient {
    return this.endpoint.workflows;
  }

  /** Starts a workflow instance and waits until it is idle (done, or waiting on time or an event). */
  async startWorkflow<I>(
    workflow: WorkflowClass<I>,
    input: I,
    options: { id?: string } = {},
  ): Promise<string> {
    const id = await this.endpoint.workflows.start(workflow, input, options);
    await this.idle();
    return id;
  }

  /** Delivers messages to the endpoint, one after the other, each handled before the next. */
  async given(...messages: object[]): Promise<void> {
    for (const message of messages) await this.deliver(message);
  }

  /** Same as {@link SagaTestKit.given}; reads better for the message under test. */
  async when(message: object, headers: Record<string, string> = {}): Promise<void> {
    await this.deliver(message, headers);
  }

  /** Moves the virtual clock forward, firing the timeouts that fall due, and waits until idle. */
  async advance(by: Duration): Promise<void> {
    await this.clock.advance(by);
    await this.idle();
  }

  /** The state of the instance of `saga` correlated to `key`; undefined when none or completed. */
  async state<S = any>(
    saga: abstract new (...args: any[]) => unknown,
    key: string | number,
  ): Promise<S | undefined> {
    const record = await this.sagaStore.findByCorrelation(this.sagaName(saga), String(key));
    return record?.status === 'active' ? (record.state as S) : undefined;
  }

  /** `active`, `completed` (a tombstone) or `none`. */
  async status(
    saga: abstract new (...args: any[]) => unknown,
    key: string | number,
  ): Promise<'active' | 'completed' | 'none'> {
    const record = await this.sagaStore.findByCorrelation(this.sagaName(saga), String(key));
    return record?.status ?? 'none';
  }

  /** Timeouts waiting for the instance of `saga` correlated to `key`. */
  async timeouts(
    saga: abstract new (...args: any[]) => unknown,
    key: string | number,
  ): Promise<ScheduledTimeout[]> {
    const name = this.sagaName(saga);
    const record = await this.sagaStore.findByCorrelation(name, String(key));
    if (!record) return [];
    const found = await this.timeoutStore.listBySaga(name, record.id);
    return found
      .map((t) => ({ id: t.id, dueAt: t.dueAt, message: this.decodeBody(t.message.headers, t.message.body) }))
      .sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime());
  }

  /** Bodies of the commands of `type` sent (to any endpoint), in order. */
  sent<T extends object>(type: MessageClass<T>): T[] {
    return this.emitted(type)
      .filter((m) => m.operation === 'send')
      .map((m) => m.envelope.body);
  }

  /** Bodies of the events of `type` published, in order. */
  published<T extends object>(type: MessageClass<T>): T[] {
    return this.emitted(type)
      .filter((m) => m.operation === 'publish')
      .map((m) => m.envelope.body);
  }

  /** Every message sent or published (optionally of one type), decoded, in order. */
  emitted<T extends object = object>(type?: MessageClass<T>): EmittedMessage<T>[] {
    const name = type && messageTypeOf(type).name;
    return this.transport.log
      .filter(
        (r): r is TransportRecord & { operation: 'publish' | 'send' } =>
          r.operation === 'publish' || r.operation === 'send',
      )
      .filter(
        (r) => !r.message.headers['longhaul.kit'] && (!name || r.message.headers[Headers.type] === name),
      )
      .map((r) => ({
        operation: r.operation,
        destination: r.operation === 'send' ? r.endpoints[0] : undefined,
        envelope: this.codec.decode(r.message) as Envelope<T>,
      }));
  }

  /** Messages in the endpoint's error queue with the reason they failed. */
  errors(): { message: WireMessage; reason: string; error: string }[] {
    return this.transport.errors(this.endpoint.name).map((message) => ({
      message,
      reason: message.headers[Headers.errorReason] ?? '',
      error: message.headers[Headers.errorMessage] ?? '',
    }));
  }

  /** Forgets the messages emitted so far (state and timeouts stay). */
  clearEmitted(): void {
    this.transport.log.length = 0;
  }

  /** Waits until no message is queued or in flight. */
  async idle(): Promise<void> {
    for (let quiet = 0; quiet < 3;) {
      const before = this.transport.log.length;
      await this.transport.whenIdle();
      await yieldToEventLoop();
      quiet = this.transport.log.length === before ? quiet + 1 : 0;
    }
  }

  async stop(): Promise<void> {
    await this.endpoint.stop();
  }

  private readonly codec = new MessageCodec({
    registry: defaultRegistry,
    maxBodyBytes: Number.MAX_SAFE_INTEGER,
  });

  private async deliver(message: object, headers: Record<string, string> = {}): Promise<void> {
    const id = newId();
    const envelope: Envelope = {
      id,
      type: messageTypeOfInstance(message).name,
      correlationId: id,
      conversationId: id,
      sentAt: this.clock.now(),
      headers: { ...headers, 'longhaul.kit': 'given' },
      body: message,
    };
    await this.transport.send(this.codec.encode(envelope), this.endpoint.name);
    await this.idle();
  }

  private sagaName(saga: abstract new (...args: any[]) => unknown): string {
    const definition = sagaDefinitionOf(saga);
    if (!definition) throw new Error(`${saga.name} is not decorated with @Saga`);
    return definition.name;
  }

  private decodeBody(headers: Readonly<Record<string, string>>, body: string): object {
    const type = defaultRegistry.lookup(headers[Headers.type] ?? '');
    const parsed = fromJson(body) as object;
    return type ? Object.assign(Object.create(type.ctor.prototype as object) as object, parsed) : parsed;
  }
}
