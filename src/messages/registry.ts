import { LonghaulError } from '../errors.js';

/** A class whose instances are messages. */
export type MessageClass<T extends object = object> = abstract new (...args: any[]) => T;

/** What a message is for: `event` (published, many subscribers), `command` (sent to one owner), `message` (timeouts, replies). */
export type MessageKind = 'event' | 'command' | 'message';

/**
 * Checks a decoded body; return (or throw) problems to reject it. A non-empty array or a thrown
 * error sends the message to the error queue with reason `invalid`.
 */
export type MessageValidator<T = unknown> = (body: T) => readonly string[] | void;

/** Options of `@Event`, `@Command` and `@Message`. */
export interface MessageOptions<T = unknown> {
  /** Optional validation of each decoded body. @defaultValue none */
  validate?: MessageValidator<T>;
}

/** What the registry knows of one message type. */
export interface MessageType<T extends object = object> {
  readonly name: string;
  readonly kind: MessageKind;
  readonly ctor: MessageClass<T>;
  readonly validate?: MessageValidator<T>;
}

const TYPE = Symbol.for('longhaul.messageType');

/**
 * Maps stable message names to classes and back. The decorators register into
 * {@link defaultRegistry}; an endpoint decodes with it unless given another.
 */
export class MessageRegistry {
  private readonly byName = new Map<string, MessageType>();

  register<T extends object>(type: MessageType<T>): void {
    const existing = this.byName.get(type.name);
    if (existing && existing.ctor !== type.ctor) {
      throw new LonghaulError(
        'duplicate-message-type',
        `Message type '${type.name}' is declared by two classes: ${existing.ctor.name} and ${type.ctor.name}`,
      );
    }
    this.byName.set(type.name, type as unknown as MessageType);
    Object.defineProperty(type.ctor, TYPE, { value: type, enumerable: false, configurable: true });
  }

  /** The type registered under `name`, if any. */
  lookup(name: string): MessageType | undefined {
    return this.byName.get(name);
  }

  /** All registered types. */
  types(): MessageType[] {
    return [...this.byName.values()];
  }
}

/** The registry the message decorators write to. */
export const defaultRegistry = new MessageRegistry();

/** The message type of a decorated class, or an error naming the undecorated class. */
export function messageTypeOf<T extends object>(ctor: MessageClass<T>): MessageType<T> {
  const type = (ctor as unknown as Record<symbol, MessageType<T> | undefined>)[TYPE];
  if (!type) {
    throw new LonghaulError(
      'not-a-message',
      `${ctor.name} is not a message class: decorate it with @Event('...'), @Command('...') or @Message('...')`,
    );
  }
  return type;
}

/** The message type of a message instance. */
export function messageTypeOfInstance(message: object): MessageType {
  return messageTypeOf(message.constructor as MessageClass);
}

function decorator(kind: MessageKind) {
  return <T extends object>(name: string, options: MessageOptions<T> = {}) =>
    (ctor: MessageClass<T>): void => {
      if (!/^[A-Za-z0-9_.:-]{1,200}$/.test(name)) {
        throw new LonghaulError(
          'invalid-message-name',
          `Message name '${name}' must match [A-Za-z0-9_.:-]{1,200}`,
        );
      }
      defaultRegistry.register({ name, kind, ctor, validate: options.validate });
    };
}

/**
 * Declares an event: published to every endpoint that subscribes to it. The name is the stable
 * wire identity (routing key), independent of the class name.
 * @example
 * ```ts
 * @Event('shop.OrderPlaced')
 * class OrderPlaced { constructor(readonly orderId: string, readonly total: number) {} }
 * ```
 */
export const Event = decorator('event');

/** Declares a command: sent to the one endpoint that owns it (see the endpoint's `routes`). */
export const Command = decorator('command');

/** Declares a message that is neither event nor command, such as a timeout message. */
export const Message = decorator('message');
