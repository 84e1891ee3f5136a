import { type OutgoingCollector } from '../bus/outgoing.js';
import { NonRetryableError } from '../errors.js';
import { type HandlerContext, type HandlerDefinition } from '../handlers/handler.js';
import { type Envelope, Headers } from '../messages/envelope.js';
import { toMillis } from '../util/duration.js';
import { type OutboxEntry } from '../persistence/saga-store.js';
import { type SagaDispatcher, type SagaOutcome } from '../sagas/dispatcher.js';
import { type SagaDefinition, type SagaHandlerDefinition } from '../sagas/metadata.js';
import { Attr } from '../telemetry/names.js';
import { type Telemetry } from '../telemetry/telemetry.js';

/** One handled message as reported to `onHandled`. */
export interface HandledMessage {
  readonly envelope: Envelope;
  /** One outcome per saga type that handled it. */
  readonly sagas: readonly SagaOutcome[];
  /** Plain handlers that ran, with what they emitted. */
  readonly handlers: readonly { readonly name: string; readonly outgoing: readonly OutboxEntry[] }[];
}

/** Whether a message addressed to saga type `target` (a timeout) is for `saga`, by name or alias. */
function namedBy(saga: SagaDefinition, target: string): boolean {
  return saga.name === target || (saga.aliases ?? []).includes(target);
}

interface Routes {
  sagas: { saga: SagaDefinition; handler: SagaHandlerDefinition }[];
  handlers: HandlerDefinition[];
}

/**
 * Finds what handles a message type here (saga types and plain handlers) and runs each: sagas
 * through the commit path, plain handlers with their emitted messages dispatched afterwards.
 */
export class MessageDispatcher {
  private readonly routes = new Map<string, Routes>();

  constructor(
    sagas: readonly SagaDefinition[],
    handlers: readonly HandlerDefinition[],
    private readonly sagaDispatcher: SagaDispatcher,
    private readonly deps: {
      readonly resolve: (ctor: new (...args: any[]) => object) => object;
      readonly collector: (incoming: Envelope, scope: string) => OutgoingCollector;
      readonly dispatchDirect: (entries: readonly OutboxEntry[]) => Promise<unknown>;
      readonly now: () => Date;
      readonly telemetry?: Telemetry;
    },
  ) {
    for (const saga of sagas) {
      for (const handler of saga.handlers.values())
        this.routesOf(handler.messageType.name).sagas.push({ saga, handler });
    }
    for (const handler of handlers) {
      for (const type of handler.messageTypes) this.routesOf(type.name).handlers.push(handler);
    }
  }

  /** Message types something here handles. */
  handledTypes(): string[] {
    return [...this.routes.keys()];
  }

  async dispatch(envelope: Envelope): Promise<HandledMessage> {
    const routes = this.routes.get(envelope.type);
    if (!routes) {
      throw new NonRetryableError(`No saga or handler for '${envelope.type}' on this endpoint`, {
        code: 'no-handler',
      });
    }
    const targetSaga = envelope.headers[Headers.sagaType];
    const sagas: SagaOutcome[] = [];
    for (let i = 0; i < routes.sagas.length; i++) {
      const { saga, handler } = routes.sagas[i]!;
      if (targetSaga === undefined ? handler.role === 'timeout' : !namedBy(saga, targetSaga)) continue;
      sagas.push(await this.sagaDispatcher.handle(saga, handler, envelope));
    }
    const handlers = [];
    if (targetSaga === undefined) {
      const telemetry = this.deps.telemetry;
      for (const definition of routes.handlers) {
        if (!telemetry?.tracing) {
          handlers.push(await this.runHandler(definition, envelope));
          continue;
        }
        const attributes = { [Attr.handler]: definition.name, [Attr.messageType]: envelope.type };
        handlers.push(
          await telemetry.span(`handler ${definition.name}`, attributes, () =>
            this.runHandler(definition, envelope),
          ),
        );
      }
    }
    if (sagas.length === 0 && handlers.length === 0) {
      throw new NonRetryableError(`Nothing here handles '${envelope.type}' for saga '${targetSaga ?? ''}'`, {
        code: 'no-handler',
      });
    }
    return { envelope, sagas, handlers };
  }

  private async runHandler(
    definition: HandlerDefinition,
    envelope: Envelope,
  ): Promise<{ name: string; outgoing: OutboxEntry[] }> {
    const collector = this.deps.collector(envelope, `handler:${definition.name}`);
    const context: HandlerContext = {
      envelope,
      now: () => this.deps.now(),
      send: async (message, options) => void collector.send(message, options),
      publish: async (message, options) => void collector.publish(message, options),
      schedule: async (message, when, options) => {
        const dueAt =
          'at' in when ? when.at : new Date(this.deps.now().getTime() + toMillis(when.after, 'after'));
        collector.schedule(
          message,
          dueAt,
          options?.to ?? collector.destinationOf(message),
          options?.headers ?? {},
        );
      },
    };
    const instance = (definition.instance ?? this.deps.resolve(definition.ctor)) as {
      handle(m: object, c: HandlerContext): unknown;
    };
    await instance.handle(envelope.body, context);
    await this.deps.dispatchDirect(collector.entries);
    return { name: definition.name, outgoing: collector.entries };
  }

  private routesOf(type: string): Routes {
    let routes = this.routes.get(type);
    if (!routes) this.routes.set(type, (routes = { sagas: [], handlers: [] }));
    return routes;
  }
}
