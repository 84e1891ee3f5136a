import { recordCorrelation } from '../messages/partition-key.js';
import { type KnownItems } from '../persistence/saga-store.js';
import { type MessageClass, type MessageType, messageTypeOf } from '../messages/registry.js';

/** How a saga method relates to its message. */
export type HandlerRole = 'start' | 'handle' | 'timeout';

/** Maps a message to the correlation value that finds its saga instance. */
export type CorrelateBy<M> = (message: M) => string | number | undefined | null;

/**
 * What a start message does when it finds an active instance for its correlation value: run the
 * start handler on it (`handle`, `ctx.isNew` is false), log and acknowledge (`ignore`), or go to
 * the error queue (`error`). A redelivery of the very message that started it is always a duplicate.
 */
export type OnExisting = 'handle' | 'ignore' | 'error';

/**
 * What a start message does when it finds a completed instance (a tombstone, kept for
 * `sagaOptions.tombstoneRetention`): log and acknowledge (`ignore`), start a fresh instance in its
 * place (`restart`: empty state, `ctx.isNew` true, the inbox kept), or go to the error queue (`error`).
 */
export type OnCompleted = 'ignore' | 'restart' | 'error';

/** Turns a stored state of one version into the shape of the next. */
export type StateUpcaster = (state: any) => unknown;

/** One decorated saga method. */
export interface SagaHandlerDefinition {
  readonly messageType: MessageType;
  readonly method: string | symbol;
  readonly role: HandlerRole;
  readonly correlateBy?: CorrelateBy<any>;
  /** This handler's saga-not-found policy, overriding the endpoint's. */
  readonly notFound?: 'log' | 'error' | 'retry';
  /** Start handlers: see {@link OnExisting}; resolved by {@link startPolicies}. */
  readonly onExisting?: OnExisting;
  /** Start handlers: see {@link OnCompleted}; resolved by {@link startPolicies}. */
  readonly onCompleted?: OnCompleted;
}

/** Options of `@Saga`, as recorded. */
export interface SagaDefinitionOptions {
  /** Former names whose stored instances (and timeouts) this saga keeps handling. */
  readonly aliases?: readonly string[];
  /** The version of the state shape the handlers expect. */
  readonly stateVersion?: number;
  /** Upcasters by the version they upgrade from (`1` turns a version-1 state into version 2). */
  readonly upcastState?: Readonly<Record<number, StateUpcaster>>;
}

/** What the decorators recorded about one saga class. */
export interface SagaDefinition extends SagaDefinitionOptions {
  readonly name: string;
  readonly ctor: new (...args: any[]) => object;
  /**
   * @internal A top-level state field holding an array that handlers only append to (or replace
   * whole): the commit path copies its items by reference and stores only the new ones (the
   * workflow history). Its items must never be mutated.
   */
  readonly appendOnly?: string;
  /**
   * @internal What this process already holds of an instance's append-only array, passed to the
   * store as `FindOptions.known` when the instance is loaded (the workflow run cache's history), so
   * a store that keeps the array apart reads only what it does not hold.
   */
  readonly knownItems?: (ref: {
    readonly id: string;
    readonly correlationKey?: string;
  }) => KnownItems | undefined;
  /** When set, this object runs the handlers instead of an instance resolved from `ctor` (built-in sagas). */
  readonly instance?: object;
  /** Handlers by message type name. */
  readonly handlers: ReadonlyMap<string, SagaHandlerDefinition>;
  /**
   * @internal Mistakes found while recording (an undecorated message class, a method handling a
   * type twice, no start handler…); the endpoint refuses to start with any.
   */
  readonly problems?: readonly DefinitionProblem[];
}

/** @internal A definition mistake: where, what, and how to fix it. */
export interface DefinitionProblem {
  readonly method?: string;
  readonly problem: string;
  readonly fix: string;
}

const PENDING = Symbol.for('longhaul.sagaHandlers');
const DEFINITION = Symbol.for('longhaul.saga');
const STANDARD = Symbol.for('longhaul.standardDecorators');

/** @internal One decorated method as the method decorators record it. */
export interface PendingHandler {
  readonly messageClass: MessageClass;
  readonly method: string | symbol;
  readonly role: HandlerRole;
  readonly correlateBy?: CorrelateBy<any>;
  readonly notFound?: 'log' | 'error' | 'retry';
  readonly onExisting?: OnExisting;
  readonly onCompleted?: OnCompleted;
}

/**
 * @internal True when a decorator was called the TC39 way (`(value, context)`), i.e. the code was
 * compiled without `experimentalDecorators`.
 */
export function isStandardDecoratorCall(second: unknown): boolean {
  return typeof second === 'object' && second !== null && 'kind' in second && 'name' in second;
}

/** @internal Marks a class whose decorators ran as TC39 decorators (see the check at start). */
export function markStandardDecorators(ctor: object): void {
  Object.defineProperty(ctor, STANDARD, { value: true, enumerable: false, configurable: true });
}

/** @internal Records one decorated method on a class prototype. */
export function recordSagaHandler(prototype: object, handler: PendingHandler): void {
  const holder = prototype as Record<symbol, PendingHandler[] | undefined>;
  const own = Object.prototype.hasOwnProperty.call(holder, PENDING) ? holder[PENDING] : undefined;
  const list = own ?? [...(holder[PENDING] ?? [])];
  list.push(handler);
  Object.defineProperty(holder, PENDING, { value: list, enumerable: false, configurable: true });
}

/** @internal The methods recorded on a saga class (for the checks at start). */
export function pendingHandlersOf(ctor: new (...args: any[]) => object): readonly PendingHandler[] {
  return (ctor.prototype as Record<symbol, PendingHandler[] | undefined>)[PENDING] ?? [];
}

const NAME = /^[A-Za-z0-9_.:-]{1,200}$/;
const FLAGS = 'set "experimentalDecorators": true and "emitDecoratorMetadata": true in tsconfig.json';

/**
 * @internal Builds the definition from the recorded methods; called by `@Saga`. It never throws:
 * mistakes are kept in `problems` and reported by `endpoint.start()` with the class and method.
 */
export function defineSaga(
  name: string,
  ctor: new (...args: any[]) => object,
  options: SagaDefinitionOptions = {},
): SagaDefinition {
  const problems: DefinitionProblem[] = [];
  if (Object.prototype.hasOwnProperty.call(ctor, STANDARD)) {
    problems.push({
      problem: 'its decorators ran as TC39 standard decorators, so no handler was recorded',
      fix: `compile with the legacy decorators: ${FLAGS} (compilerOptions)`,
    });
  }
  for (const [what, value] of [['name', name], ...(options.aliases ?? []).map((a) => ['alias', a])]) {
    if (typeof value !== 'string' || !NAME.test(value)) {
      problems.push({
        problem: `the saga ${what} ${JSON.stringify(value)} is not a valid name`,
        fix: `@Saga(name, { aliases }): use 1-200 of [A-Za-z0-9_.:-]`,
      });
    }
  }
  const handlers = new Map<string, SagaHandlerDefinition>();
  for (const handler of pendingHandlersOf(ctor)) {
    const method = String(handler.method);
    let messageType: MessageType;
    try {
      messageType = messageTypeOf(handler.messageClass);
    } catch {
      problems.push({
        method,
        problem: `${handler.messageClass?.name ?? String(handler.messageClass)} is not a message class`,
        fix: `decorate it with @Event('...'), @Command('...') or @Message('...')`,
      });
      continue;
    }
    const other = handlers.get(messageType.name);
    if (other) {
      problems.push({
        method,
        problem: `'${messageType.name}' is handled twice (also by ${String(other.method)})`,
        fix: 'keep one method per message type',
      });
      continue;
    }
    const { messageClass: _class, ...rest } = handler;
    handlers.set(messageType.name, { ...rest, messageType });
    // The sender's default partition key for this type (messages/partition-key.ts).
    if (typeof handler.correlateBy === 'function') recordCorrelation(messageType.name, handler.correlateBy);
  }
  if (problems.length === 0 && ![...handlers.values()].some((h) => h.role === 'start')) {
    problems.push({
      problem: 'it has no @StartedBy handler, so nothing can start an instance',
      fix: 'decorate the method handling the first message with @StartedBy(Message, { correlateBy })',
    });
  }
  const definition: SagaDefinition = { name, ctor, handlers, ...options, problems };
  Object.defineProperty(ctor, DEFINITION, { value: definition, enumerable: false, configurable: true });
  return definition;
}

/** The definition of a class decorated with `@Saga`, or undefined. */
export function sagaDefinitionOf(ctor: abstract new (...args: any[]) => unknown): SagaDefinition | undefined {
  return Object.prototype.hasOwnProperty.call(ctor, DEFINITION)
    ? (ctor as unknown as Record<symbol, SagaDefinition>)[DEFINITION]
    : undefined;
}

/**
 * The start policies of a handler with their defaults: `onExisting` is `ignore` when the handler
 * is the saga's only `@StartedBy` and `handle` when the saga has several (whichever arrives second
 * joins the instance); `onCompleted` is `ignore`.
 */
export function startPolicies(
  saga: SagaDefinition,
  handler: SagaHandlerDefinition,
): { onExisting: OnExisting; onCompleted: OnCompleted } {
  const starts = [...saga.handlers.values()].filter((h) => h.role === 'start').length;
  return {
    onExisting: handler.onExisting ?? (starts > 1 ? 'handle' : 'ignore'),
    onCompleted: handler.onCompleted ?? 'ignore',
  };
}
