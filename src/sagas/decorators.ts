import { injectable } from 'inversify';
import { type MessageClass } from '../messages/registry.js';
import { type SagaContext } from './context.js';
import {
  type CorrelateBy,
  defineSaga,
  isStandardDecoratorCall,
  markStandardDecorators,
  type OnCompleted,
  type OnExisting,
  type PendingHandler,
  recordSagaHandler,
  type StateUpcaster,
} from './metadata.js';

type SagaMethod<M> = (message: M, context: SagaContext<any>) => unknown;
/** A method decorator that only fits methods taking the decorator's message type. */
type MethodDecorator<M> = <T extends SagaMethod<M>>(
  target: object,
  method: string | symbol,
  descriptor: TypedPropertyDescriptor<T>,
) => void;

/** Options of `@StartedBy` and `@Handles`. */
export interface CorrelationOptions<M> {
  /** The value that finds the instance (unique per saga type), e.g. `m => m.orderId`. */
  correlateBy: CorrelateBy<M>;
}

/** Options of `@StartedBy`. */
export interface StartedByOptions<M> extends CorrelationOptions<M> {
  /**
   * A start message (with a new id) that finds an **active** instance: `handle` runs this method
   * on it (`ctx.isNew` false), `ignore` logs and acknowledges it, `error` sends it to the error
   * queue (reason `start-on-existing`). A redelivery of the message that started the instance is
   * a duplicate whatever this says.
   * @defaultValue `'ignore'` when this is the saga's only `@StartedBy`; `'handle'` when the saga
   * has several (the message that arrives second joins the instance the first one started)
   */
  onExisting?: OnExisting;
  /**
   * A start message that finds a **completed** instance (its tombstone is kept for
   * `sagaOptions.tombstoneRetention`): `ignore` logs and acknowledges it, `restart` starts a fresh
   * instance in its place (empty state, `ctx.isNew` true, the handled-id inbox kept), `error` sends
   * it to the error queue (reason `start-on-completed`). After the tombstone is deleted, a start
   * message starts a new instance whatever this says.
   * @defaultValue 'ignore'
   */
  onCompleted?: OnCompleted;
}

/** Options of `@Handles`. */
export interface HandlesOptions<M> extends CorrelationOptions<M> {
  /**
   * When no instance matches: `log` and acknowledge, `error` queue, or `retry` (for a message that
   * can overtake the one starting the instance). @defaultValue the endpoint's `sagaOptions.notFound`
   */
  notFound?: 'log' | 'error' | 'retry';
}

/** Options of `@Saga`: evolution of its name and of its state (see docs/evolution.md). */
export interface SagaOptions {
  /**
   * Former names of this saga. Instances stored under one of them (and the timeouts they asked
   * for) keep being found and handled, and stay stored under that name; new instances get the
   * current name. @defaultValue []
   */
  aliases?: readonly string[];
  /**
   * The version of the state shape the handlers expect; it is stored with every instance this
   * saga commits. A loaded state of an older version goes through {@link SagaOptions.upcastState}
   * first; one of a newer version (written by a newer deploy) is retried, then error-queued,
   * never handled. @defaultValue 1
   */
  stateVersion?: number;
  /**
   * Upcasters by the version they upgrade **from**: `{ 1: (s) => ({ ...s, currency: 'EUR' }) }`
   * turns a version-1 state into version 2. A state with no path to `stateVersion` goes to the
   * error queue (reason `state-upcast-missing`). @defaultValue {}
   */
  upcastState?: Readonly<Record<number, StateUpcaster>>;
}

/**
 * Declares a saga: a class whose decorated methods share one persisted state per correlation
 * value. The class is resolved from the Inversify container for every message, so constructor
 * injection works as usual (`@Saga` makes it `@injectable()`). Mistakes in the definition are
 * reported by `endpoint.start()`.
 * @example
 * ```ts
 * @Saga('OrderFulfilment', { stateVersion: 2, upcastState: { 1: (s) => ({ ...s, currency: 'EUR' }) } })
 * class OrderFulfilment {
 *   @StartedBy(OrderPlaced, { correlateBy: (m) => m.orderId })
 *   async onPlaced(msg: OrderPlaced, ctx: SagaContext<OrderState>) { ... }
 * }
 * ```
 */
export function Saga(name: string, options: SagaOptions = {}) {
  return (ctor: new (...args: any[]) => object, context?: unknown): void => {
    if (isStandardDecoratorCall(context)) markStandardDecorators(ctor);
    else injectable()(ctor);
    defineSaga(name, ctor, options);
  };
}

function methodDecorator<M>(handler: Omit<PendingHandler, 'method'>): MethodDecorator<M> {
  return (target, method) => {
    // Called the TC39 way (`method` is a context object): `@Saga` reports it at start.
    if (isStandardDecoratorCall(method)) return;
    recordSagaHandler(target, { ...handler, method });
  };
}

/**
 * The message starts a new instance when none matches its correlation value; what it does when one
 * does (active or completed) is set by {@link StartedByOptions}.
 */
export function StartedBy<M extends object>(
  message: MessageClass<M>,
  options: StartedByOptions<M>,
): MethodDecorator<M> {
  return methodDecorator({
    messageClass: message,
    role: 'start',
    correlateBy: options?.correlateBy,
    onExisting: options?.onExisting,
    onCompleted: options?.onCompleted,
  });
}

/** The message is handled by the instance matching its correlation value (see the saga-not-found policy). */
export function Handles<M extends object>(
  message: MessageClass<M>,
  options: HandlesOptions<M>,
): MethodDecorator<M> {
  return methodDecorator({
    messageClass: message,
    role: 'handle',
    correlateBy: options?.correlateBy,
    notFound: options?.notFound,
  });
}

/**
 * Handles a timeout this saga requested with `ctx.requestTimeout(...)`. The message returns to the
 * very instance that requested it; a cancelled timeout, or one arriving after completion, is dropped.
 */
export function OnTimeout<M extends object>(message: MessageClass<M>): MethodDecorator<M> {
  return methodDecorator({ messageClass: message, role: 'timeout' });
}
