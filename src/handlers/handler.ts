import { injectable } from 'inversify';
import { type OutgoingOptions, type SendOptions } from '../bus/outgoing.js';
import { LonghaulError } from '../errors.js';
import { type Envelope } from '../messages/envelope.js';
import { type Duration } from '../util/duration.js';
import { findMessageType, type MessageClass, type MessageType } from '../messages/registry.js';

/**
 * What a plain (stateless) handler gets besides its message. Sent and published messages leave
 * only after the handler returned without error, with ids derived from the incoming id, so a
 * redelivered message re-sends the same ids and downstream inboxes drop the copies.
 */
export interface HandlerContext {
  readonly envelope: Envelope;
  now(): Date;
  send(message: object, options?: SendOptions): Promise<void>;
  publish(message: object, options?: OutgoingOptions): Promise<void>;
  /** Sends `message` to its owner (or `options.to`) later, through the timeout store. */
  schedule(message: object, when: { after: Duration } | { at: Date }, options?: SendOptions): Promise<void>;
}

/** A plain message handler. It runs again on redelivery, so its own effects must be idempotent. */
export interface Handler<M extends object> {
  handle(message: M, context: HandlerContext): Promise<void> | void;
}

/** What `@HandlerFor` recorded. */
export interface HandlerDefinition {
  readonly name: string;
  readonly ctor: new (...args: any[]) => Handler<any>;
  /** When set, this object handles the messages instead of an instance resolved from `ctor` (built-in handlers). */
  readonly instance?: Handler<any>;
  readonly messageTypes: readonly MessageType[];
}

const DEFINITION = Symbol.for('longhaul.handler');

/**
 * Declares a plain handler class for one or more message types; it is resolved from the container
 * per message (`@HandlerFor` makes it `@injectable()`).
 * @example
 * ```ts
 * @HandlerFor(ChargePayment)
 * class PaymentService implements Handler<ChargePayment> {
 *   async handle(msg: ChargePayment, ctx: HandlerContext) { await ctx.publish(new PaymentCharged(msg.orderId)); }
 * }
 * ```
 */
export function HandlerFor<C extends [MessageClass, ...MessageClass[]]>(...messages: C) {
  return (ctor: new (...args: any[]) => Handler<InstanceType<C[number]>>): void => {
    injectable()(ctor);
    // An undecorated message class is reported by `endpoint.start()`, naming this handler.
    const problems = messages.filter((m) => !findMessageType(m));
    const definition: HandlerDefinition = {
      name: ctor.name,
      ctor,
      messageTypes: messages.flatMap((m) => findMessageType<object>(m) ?? []),
    };
    if (problems.length > 0) {
      Object.defineProperty(definition, 'problem', {
        value: `@HandlerFor(${problems.map((m) => m?.name ?? String(m)).join(', ')}): not a message class; fix: decorate it with @Event('...'), @Command('...') or @Message('...')`,
      });
    }
    Object.defineProperty(ctor, DEFINITION, { value: definition, enumerable: false, configurable: true });
  };
}

/** The definition of a class decorated with `@HandlerFor`, or an error naming the class. */
export function handlerDefinitionOf(ctor: abstract new (...args: any[]) => unknown): HandlerDefinition {
  const definition = Object.prototype.hasOwnProperty.call(ctor, DEFINITION)
    ? (ctor as unknown as Record<symbol, HandlerDefinition>)[DEFINITION]
    : undefined;
  if (!definition) {
    throw new LonghaulError(
      'not-a-handler',
      `${ctor.name} is not a handler: decorate it with @HandlerFor(...)`,
    );
  }
  const problem = (definition as { problem?: string }).problem;
  if (problem) throw new LonghaulError('invalid-handler', `${ctor.name}: ${problem}`);
  return definition;
}
