import { LonghaulError } from '../errors.js';
import { type PartitionKeyOf } from './partition-key.js';

/** A class whose instances are messages. */
export type MessageClass<T extends object = object> = abstract new (...args: any[]) => T;

/** What a message is for: `event` (published, many subscribers), `command` (sent to one owner), `message` (timeouts, replies). */
export type MessageKind = 'event' | 'command' | 'message';

/**
 * Checks a decoded body; return (or throw) problems to reject it. A non-empty array or a thrown
 * error sends the message to the error queue with reason `invalid`.
 */
export type MessageValidator<T = unknown> = (body: T) => readonly string[] | void;

/** What an upcaster sees besides the body: the message as it arrived. */
export interface UpcastContext {
  /** The type name the message arrived with (an alias, for a message sent before a rename). */
  readonly type: string;
  /** The version the body has, before this upcaster. */
  readonly version: number;
  readonly messageId: string;
  readonly sentAt: Date;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Turns the JSON body of one version into the body of the next (dates already revived). It gets a
 * plain object and returns a plain object; it must not mutate its input.
 */
export type MessageUpcaster = (body: any, context: UpcastContext) => object;

/** Options of `@Event`, `@Command` and `@Message`. */
export interface MessageOptions<T = unknown> {
  /** Optional validation of each decoded body (after upcasting). @defaultValue none */
  validate?: MessageValidator<T>;
  /**
   * The version of the body shape this class has, written in the `longhaul.version` header of
   * every message sent. A message that arrives with an older version (or none: version 1) goes
   * through {@link MessageOptions.upcast} on decode; a newer one goes to the error queue
   * (reason `decode/unsupported-version`). @defaultValue 1
   */
  version?: number;
  /**
   * Upcasters by the version they upgrade **from**: `{ 1: (v1) => ({ ...v1, currency: 'EUR' }) }`
   * turns a version-1 body into version 2. A body with no path to `version` goes to the error queue
   * (reason `decode/unsupported-version`); an upcaster that throws, with `decode/upcast-failed`.
   * @defaultValue {}
   */
  upcast?: Readonly<Record<number, MessageUpcaster>>;
  /**
   * Former names of this message type. Messages that arrive under one of them (queued, stored in
   * an outbox or as a timeout, in an error queue) decode as this class; an endpoint that handles
   * an event also subscribes to its former names. New messages carry the current name. @defaultValue []
   */
  aliases?: readonly string[];
  /**
   * The key that decides the partition of a partitioned endpoint this message goes to: messages
   * with one key are handled one at a time, in order (docs/scale-out.md). Annotate the parameter:
   * `partitionKey: (m: OrderPaid) => m.orderId`. A function that throws or returns nothing leaves
   * the choice to the handling saga's correlation value, then the message id.
   * @defaultValue the correlation value of the saga that handles it (if loaded here), else the message id
   */
  partitionKey?: PartitionKeyOf<T>;
}

/** What the registry knows of one message type. */
export interface MessageType<T extends object = object> {
  readonly name: string;
  readonly kind: MessageKind;
  readonly ctor: MessageClass<T>;
  readonly validate?: MessageValidator<T>;
  /** The current body version. @defaultValue 1 */
  readonly version?: number;
  readonly upcast?: Readonly<Record<number, MessageUpcaster>>;
  /** Former names; see {@link MessageOptions.aliases}. */
  readonly aliases?: readonly string[];
  /** See {@link MessageOptions.partitionKey}. */
  readonly partitionKey?: PartitionKeyOf<T>;
}

/** A mistake in a message declaration, reported by `endpoint.start()`. */
export interface MessageDefinitionProblem {
  /** The name (or alias) concerned. */
  readonly name: string;
  readonly problem: string;
  readonly fix: string;
}

const TYPE = Symbol.for('longhaul.messageType');
const NAME = /^[A-Za-z0-9_.:-]{1,200}$/;

/**
 * Maps stable message names (and former names) to classes and back. The decorators register into
 * {@link defaultRegistry}; an endpoint decodes with it unless given another. Declaration mistakes
 * (a name taken by two classes, an invalid version or upcaster) do not throw at import: they are
 * kept in {@link MessageRegistry.problems} and `endpoint.start()` refuses to start.
 */
export class MessageRegistry {
  private readonly byName = new Map<string, MessageType>();
  private readonly byAlias = new Map<string, MessageType>();
  private readonly found: MessageDefinitionProblem[] = [];

  register<T extends object>(type: MessageType<T>): void {
    const entry = type as unknown as MessageType;
    const existing = this.byName.get(type.name) ?? this.byAlias.get(type.name);
    if (existing && existing.ctor !== type.ctor) {
      this.found.push({
        name: type.name,
        problem: `'${type.name}' is declared by two classes: ${existing.ctor.name} and ${type.ctor.name}`,
        fix: 'give each message class its own name (and former names in aliases)',
      });
      return;
    }
    this.found.push(...checkDeclaration(entry));
    for (const alias of type.aliases ?? []) {
      const other = this.byName.get(alias) ?? this.byAlias.get(alias);
      if (other && other.ctor !== type.ctor) {
        this.found.push({
          name: alias,
          problem: `alias '${alias}' of ${type.ctor.name} is already the name or an alias of ${other.ctor.name}`,
          fix: 'remove the alias from one of them',
        });
      } else this.byAlias.set(alias, entry);
    }
    this.byName.set(type.name, entry);
    Object.defineProperty(type.ctor, TYPE, { value: type, enumerable: false, configurable: true });
  }

  /** The type registered under `name`, or under `name` as a former name (alias), if any. */
  lookup(name: string): MessageType | undefined {
    return this.byName.get(name) ?? this.byAlias.get(name);
  }

  /** All registered types. */
  types(): MessageType[] {
    return [...this.byName.values()];
  }

  /** Declaration mistakes found so far (see the class comment). */
  problems(): readonly MessageDefinitionProblem[] {
    return [...this.found];
  }

  /** @internal Records a declaration mistake found before registration (an invalid name). */
  report(problem: MessageDefinitionProblem): void {
    this.found.push(problem);
  }
}

function checkDeclaration(type: MessageType): MessageDefinitionProblem[] {
  const problems: MessageDefinitionProblem[] = [];
  const at = `${type.ctor.name} ('${type.name}')`;
  const version = type.version ?? 1;
  if (!Number.isInteger(version) || version < 1) {
    problems.push({
      name: type.name,
      problem: `${at} has version ${JSON.stringify(type.version)}`,
      fix: 'set version to an integer >= 1',
    });
  }
  for (const [from, upcaster] of Object.entries(type.upcast ?? {})) {
    const n = Number(from);
    if (!Number.isInteger(n) || n < 1 || n >= version || typeof upcaster !== 'function') {
      problems.push({
        name: type.name,
        problem: `${at} has upcast[${from}] = ${typeof upcaster}`,
        fix: `key upcasters by the version they upgrade from (1 to ${version - 1}) and make each a function`,
      });
    }
  }
  if (type.partitionKey !== undefined && typeof type.partitionKey !== 'function') {
    problems.push({
      name: type.name,
      problem: `${at} has a partitionKey that is not a function`,
      fix: 'pass a function of the message, e.g. (m: OrderPaid) => m.orderId',
    });
  }
  if (type.validate !== undefined && typeof type.validate !== 'function') {
    problems.push({
      name: type.name,
      problem: `${at} has a validate that is not a function`,
      fix: 'pass a function',
    });
  }
  for (const alias of type.aliases ?? []) {
    if (typeof alias !== 'string' || !NAME.test(alias) || alias === type.name) {
      problems.push({
        name: type.name,
        problem: `${at} has the alias ${JSON.stringify(alias)}`,
        fix: 'an alias is a former name: 1-200 of [A-Za-z0-9_.:-], not the current name',
      });
    }
  }
  return problems;
}

/** The registry the message decorators write to. */
export const defaultRegistry = new MessageRegistry();

/** The message type of a decorated class, or undefined. */
export function findMessageType<T extends object>(ctor: unknown): MessageType<T> | undefined {
  if (typeof ctor !== 'function') return undefined;
  return (ctor as unknown as Record<symbol, MessageType<T> | undefined>)[TYPE];
}

/** The message type of a decorated class, or an error naming the undecorated class. */
export function messageTypeOf<T extends object>(ctor: MessageClass<T>): MessageType<T> {
  const type = findMessageType<T>(ctor);
  if (!type) {
    throw new LonghaulError(
      'not-a-message',
      `${(ctor as { name?: string } | undefined)?.name ?? String(ctor)} is not a message class: decorate it with @Event('...'), @Command('...') or @Message('...')`,
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
      if (typeof name !== 'string' || !NAME.test(name)) {
        defaultRegistry.report({
          name: String(name),
          problem: `${ctor.name} has the message name ${JSON.stringify(name)}`,
          fix: 'use 1-200 of [A-Za-z0-9_.:-], e.g. shop.OrderPlaced',
        });
        return;
      }
      defaultRegistry.register({
        name,
        kind,
        ctor,
        validate: options.validate,
        version: options.version,
        upcast: options.upcast,
        aliases: options.aliases,
        partitionKey: options.partitionKey,
      });
    };
}

/**
 * Declares an event: published to every endpoint that subscribes to it. The name is the stable
 * wire identity (routing key), independent of the class name. See docs/evolution.md for versions,
 * upcasters and aliases.
 * @example
 * ```ts
 * @Event('shop.OrderPlaced', { version: 2, upcast: { 1: (v1) => ({ ...v1, currency: 'EUR' }) } })
 * class OrderPlaced { constructor(readonly orderId: string, readonly total: number, readonly currency: string) {} }
 * ```
 */
export const Event = decorator('event');

/** Declares a command: sent to the one endpoint that owns it (see the endpoint's `routes`). */
export const Command = decorator('command');

/** Declares a message that is neither event nor command, such as a timeout message. */
export const Message = decorator('message');
