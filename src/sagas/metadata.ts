import { LonghaulError } from '../errors.js';
import { type MessageClass, type MessageType, messageTypeOf } from '../messages/registry.js';

/** How a saga method relates to its message. */
export type HandlerRole = 'start' | 'handle' | 'timeout';

/** Maps a message to the correlation value that finds its saga instance. */
export type CorrelateBy<M> = (message: M) => string | number | undefined | null;

/** One decorated saga method. */
export interface SagaHandlerDefinition {
  readonly messageType: MessageType;
  readonly method: string | symbol;
  readonly role: HandlerRole;
  readonly correlateBy?: CorrelateBy<any>;
  /** This handler's saga-not-found policy, overriding the endpoint's. */
  readonly notFound?: 'log' | 'error' | 'retry';
}

/** What the decorators recorded about one saga class. */
export interface SagaDefinition {
  readonly name: string;
  readonly ctor: new (...args: any[]) => object;
  /** When set, this object runs the handlers instead of an instance resolved from `ctor` (built-in sagas). */
  readonly instance?: object;
  /** Handlers by message type name. */
  readonly handlers: ReadonlyMap<string, SagaHandlerDefinition>;
}

const PENDING = Symbol.for('longhaul.sagaHandlers');
const DEFINITION = Symbol.for('longhaul.saga');

interface PendingHandler {
  readonly messageClass: MessageClass;
  readonly method: string | symbol;
  readonly role: HandlerRole;
  readonly correlateBy?: CorrelateBy<any>;
  readonly notFound?: 'log' | 'error' | 'retry';
}

/** @internal Records one decorated method on a class prototype. */
export function recordSagaHandler(prototype: object, handler: PendingHandler): void {
  const holder = prototype as Record<symbol, PendingHandler[] | undefined>;
  const own = Object.prototype.hasOwnProperty.call(holder, PENDING) ? holder[PENDING] : undefined;
  const list = own ?? [...(holder[PENDING] ?? [])];
  list.push(handler);
  Object.defineProperty(holder, PENDING, { value: list, enumerable: false, configurable: true });
}

/** @internal Builds the definition from the recorded methods; called by `@Saga`. */
export function defineSaga(name: string, ctor: new (...args: any[]) => object): SagaDefinition {
  if (!/^[A-Za-z0-9_.:-]{1,200}$/.test(name)) {
    throw new LonghaulError('invalid-saga', `Saga name '${name}' must match [A-Za-z0-9_.:-]{1,200}`);
  }
  const pending = (ctor.prototype as Record<symbol, PendingHandler[] | undefined>)[PENDING] ?? [];
  const handlers = new Map<string, SagaHandlerDefinition>();
  for (const handler of pending) {
    const messageType = messageTypeOf(handler.messageClass);
    if (handlers.has(messageType.name)) {
      throw new LonghaulError(
        'invalid-saga',
        `Saga '${name}' handles '${messageType.name}' twice (methods ${String(handlers.get(messageType.name)?.method)} and ${String(handler.method)})`,
      );
    }
    handlers.set(messageType.name, { ...handler, messageType });
  }
  if (![...handlers.values()].some((h) => h.role === 'start')) {
    throw new LonghaulError(
      'invalid-saga',
      `Saga '${name}' has no @StartedBy handler, so nothing can start it`,
    );
  }
  const definition: SagaDefinition = { name, ctor, handlers };
  Object.defineProperty(ctor, DEFINITION, { value: definition, enumerable: false, configurable: true });
  return definition;
}

/** The definition of a class decorated with `@Saga`, or undefined. */
export function sagaDefinitionOf(ctor: abstract new (...args: any[]) => unknown): SagaDefinition | undefined {
  return Object.prototype.hasOwnProperty.call(ctor, DEFINITION)
    ? (ctor as unknown as Record<symbol, SagaDefinition>)[DEFINITION]
    : undefined;
}
