import { ContainerModule, type ResolutionContext } from 'inversify';
import { Bus } from '../bus/bus.js';
import { EMBEDDED_LOG_LIMIT, InMemoryTransport } from '../bus/memory/in-memory-transport.js';
import { type Transport } from '../bus/transport.js';
import { Endpoint } from '../endpoint/endpoint.js';
import { type EndpointOptions } from '../endpoint/options.js';
import { defaultRegistry } from '../messages/registry.js';
import { metadataHint, sagaEntries, validateDefinitions } from '../sagas/validation.js';
import { ConfigurationError } from '../errors.js';
import { InMemorySagaStore } from '../persistence/memory/in-memory-saga-store.js';
import { type SagaStore } from '../persistence/saga-store.js';
import { InMemoryTimeoutStore } from '../timeouts/memory/in-memory-timeout-store.js';
import { type TimeoutStore } from '../timeouts/timeout-store.js';
import { type Clock, systemClock } from '../util/clock.js';
import { consoleLogger, type Logger } from '../util/logger.js';
import { WorkflowClient } from '../workflows/client.js';
import { type ActivityClass } from '../workflows/definitions.js';

/** Service identifiers for the parts a user may bind (or rebind) in the container. */
export const LonghaulTypes = {
  Transport: Symbol.for('longhaul.Transport'),
  SagaStore: Symbol.for('longhaul.SagaStore'),
  TimeoutStore: Symbol.for('longhaul.TimeoutStore'),
  Clock: Symbol.for('longhaul.Clock'),
  Logger: Symbol.for('longhaul.Logger'),
} as const;

/**
 * One `ContainerModule` that registers an endpoint: its saga and handler classes (resolved per
 * message, with ordinary constructor injection), the {@link Endpoint} and the {@link Bus}.
 * Transport, stores, clock and logger come from `options`, else from bindings already in the
 * container under {@link LonghaulTypes}, else the in-memory defaults.
 * @example
 * ```ts
 * const container = new Container();
 * container.bind(Inventory).toSelf();
 * container.load(longhaulModule({ name: 'shop', sagas: [OrderFulfilment], handlers: [PaymentService] }));
 * const endpoint = container.get(Endpoint);
 * await endpoint.start();
 * await container.get(Bus).publish(new OrderPlaced('o-1', 42));
 * ```
 */
export function longhaulModule(options: EndpointOptions): ContainerModule {
  return new ContainerModule(({ bind, isBound }) => {
    // Saga and message definition mistakes fail `container.load(...)`; `endpoint.start()` checks again.
    validateDefinitions(sagaEntries(options.sagas ?? []), defaultRegistry);
    const clock = options.clock ?? systemClock;
    const defaults: [symbol, unknown, () => unknown][] = [
      [LonghaulTypes.Clock, options.clock, () => clock],
      [LonghaulTypes.Logger, options.logger, () => consoleLogger('info')],
      [
        LonghaulTypes.Transport,
        options.transport,
        () => new InMemoryTransport(clock, { logLimit: EMBEDDED_LOG_LIMIT }),
      ],
      [LonghaulTypes.SagaStore, options.sagaStore, () => new InMemorySagaStore()],
      [LonghaulTypes.TimeoutStore, options.timeoutStore, () => new InMemoryTimeoutStore()],
    ];
    for (const [token, given, fallback] of defaults) {
      if (given !== undefined) bind(token).toConstantValue(given);
      else if (!isBound(token)) bind(token).toDynamicValue(fallback).inSingletonScope();
    }
    const classes: [string, readonly unknown[]][] = [
      ['sagas', options.sagas ?? []],
      ['handlers', options.handlers ?? []],
      ['workflows', options.workflows ?? []],
      ['activities', options.activities ?? []],
    ];
    for (const [option, list] of classes) {
      list.forEach((ctor, i) => {
        if (typeof ctor !== 'function' || isBound(ctor as ActivityClass)) return;
        try {
          bind(ctor as ActivityClass).toSelf();
        } catch (error) {
          throw new ConfigurationError(
            `${option}[${i}]`,
            `${ctor.name} cannot be registered in the container: ${(error as Error).message}${metadataHint(ctor as ActivityClass)}`,
          );
        }
      });
    }
    bind(Endpoint)
      .toDynamicValue(
        (context: ResolutionContext) =>
          new Endpoint({
            ...options,
            clock: context.get<Clock>(LonghaulTypes.Clock),
            logger: context.get<Logger>(LonghaulTypes.Logger),
            transport: context.get<Transport>(LonghaulTypes.Transport),
            sagaStore: context.get<SagaStore>(LonghaulTypes.SagaStore),
            timeoutStore: context.get<TimeoutStore>(LonghaulTypes.TimeoutStore),
            resolve: (ctor) => context.get(ctor),
          }),
      )
      .inSingletonScope();
    bind(Bus)
      .toDynamicValue((context: ResolutionContext) => context.get(Endpoint).bus)
      .inSingletonScope();
    bind(WorkflowClient)
      .toDynamicValue((context: ResolutionContext) => context.get(Endpoint).workflows)
      .inSingletonScope();
  });
}
