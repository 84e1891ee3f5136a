import { injectable } from 'inversify';
import { type MessageClass } from '../messages/registry.js';
import { type SagaContext } from './context.js';
import { type CorrelateBy, defineSaga, recordSagaHandler } from './metadata.js';

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

/** Options of `@Handles`. */
export interface HandlesOptions<M> extends CorrelationOptions<M> {
  /**
   * When no instance matches: `log` and acknowledge, `error` queue, or `retry` (for a message that
   * can overtake the one starting the instance). @defaultValue the endpoint's `sagaOptions.notFound`
   */
  notFound?: 'log' | 'error' | 'retry';
}

/**
 * Declares a saga: a class whose decorated methods share one persisted state per correlation
 * value. The class is resolved from the Inversify container for every message, so constructor
 * injection works as usual (`@Saga` makes it `@injectable()`).
 * @example
 * ```ts
 * @Saga('OrderFulfilment')
 * class OrderFulfilment {
 *   @StartedBy(OrderPlaced, { correlateBy: (m) => m.orderId })
 *   async onPlaced(msg: OrderPlaced, ctx: SagaContext<OrderState>) { ... }
 * }
 * ```
 */
export function Saga(name: string) {
  return (ctor: new (...args: any[]) => object): void => {
    injectable()(ctor);
    defineSaga(name, ctor);
  };
}

/**
 * The message starts a new instance when none matches its correlation value, and is handled by the
 * existing instance otherwise.
 */
export function StartedBy<M extends object>(
  message: MessageClass<M>,
  options: CorrelationOptions<M>,
): MethodDecorator<M> {
  return (target, method) =>
    recordSagaHandler(target, {
      messageClass: message,
      method,
      role: 'start',
      correlateBy: options.correlateBy,
    });
}

/** The message is handled by the instance matching its correlation value (see the saga-not-found policy). */
export function Handles<M extends object>(
  message: MessageClass<M>,
  options: HandlesOptions<M>,
): MethodDecorator<M> {
  return (target, method) =>
    recordSagaHandler(target, {
      messageClass: message,
      method,
      role: 'handle',
      correlateBy: options.correlateBy,
      notFound: options.notFound,
    });
}

/**
 * Handles a timeout this saga requested with `ctx.requestTimeout(...)`. The message returns to the
 * very instance that requested it; a cancelled timeout, or one arriving after completion, is dropped.
 */
export function OnTimeout<M extends object>(message: MessageClass<M>): MethodDecorator<M> {
  return (target, method) => recordSagaHandler(target, { messageClass: message, method, role: 'timeout' });
}
