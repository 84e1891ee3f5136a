/**
 * The definition checks `endpoint.start()` and `longhaulModule` run before anything is consumed,
 * so a mistake in a saga or message declaration fails at start with a {@link ConfigurationError}
 * naming the class, the method and what to change, instead of on the first message as bad input.
 */
import { ConfigurationError } from '../errors.js';
import { findMessageType, type MessageRegistry } from '../messages/registry.js';
import { pendingHandlersOf, type SagaDefinition, sagaDefinitionOf } from './metadata.js';

const ON_EXISTING = ['handle', 'ignore', 'error'];
const ON_COMPLETED = ['ignore', 'restart', 'error'];
const NOT_FOUND = ['log', 'error', 'retry'];

/** A saga definition with the option field that supplied it (`sagas[2]`). */
export interface SagaEntry {
  readonly definition: SagaDefinition;
  readonly field: string;
  /** False for built-in sagas (the workflow engine): only the name check applies to them. */
  readonly user: boolean;
}

/** The definitions of the endpoint option `sagas`, or an error naming the class that is not a saga. */
export function sagaEntries(ctors: readonly (new (...args: any[]) => object)[]): SagaEntry[] {
  return ctors.map((ctor, i) => {
    const definition = sagaDefinitionOf(ctor);
    if (!definition) {
      throw new ConfigurationError(
        `sagas[${i}]`,
        `${(ctor as { name?: string } | undefined)?.name ?? String(ctor)} is not decorated with @Saga`,
      );
    }
    return { definition, field: `sagas[${i}]`, user: true };
  });
}

/** Throws a {@link ConfigurationError} for the first mistake in `sagas` or in the message registry. */
export function validateDefinitions(sagas: readonly SagaEntry[], registry: MessageRegistry): void {
  const [message] = registry.problems();
  if (message) {
    throw new ConfigurationError(`messages['${message.name}']`, `${message.problem}; fix: ${message.fix}`);
  }
  const owners = new Map<string, SagaEntry>();
  for (const entry of sagas) {
    if (entry.user) validateSaga(entry);
    const { definition } = entry;
    for (const name of [definition.name, ...(definition.aliases ?? [])]) {
      const other = owners.get(name);
      if (other && other.definition !== definition) {
        throw new ConfigurationError(
          entry.field,
          `${definition.ctor.name}: the saga name '${name}' is also used by ${other.definition.ctor.name} (${other.field}); fix: give each @Saga its own name, and a former name to one saga's aliases only`,
        );
      }
      owners.set(name, entry);
    }
  }
}

function validateSaga({ definition, field }: SagaEntry): void {
  const cls = definition.ctor.name;
  const fail = (method: string | undefined, text: string): never => {
    throw new ConfigurationError(field, `${method ? `${cls}.${method}` : cls}: ${text}`);
  };
  for (const p of definition.problems ?? []) fail(p.method, `${p.problem}; fix: ${p.fix}`);
  const { stateVersion, upcastState } = definition;
  if (stateVersion !== undefined && (!Number.isInteger(stateVersion) || stateVersion < 1)) {
    fail(undefined, `@Saga stateVersion is ${JSON.stringify(stateVersion)}; fix: an integer >= 1`);
  }
  for (const [from, upcaster] of Object.entries(upcastState ?? {})) {
    const n = Number(from);
    if (!Number.isInteger(n) || n < 1 || n >= (stateVersion ?? 1) || typeof upcaster !== 'function') {
      fail(
        undefined,
        `@Saga upcastState[${from}] is ${typeof upcaster}; fix: key state upcasters by the version they upgrade from (1 to stateVersion - 1), each a function`,
      );
    }
  }
  const recorded = new Map(pendingHandlersOf(definition.ctor).map((p) => [p.method, p.messageClass]));
  for (const handler of definition.handlers.values()) {
    const method = String(handler.method);
    const decorator =
      handler.role === 'start' ? '@StartedBy' : handler.role === 'handle' ? '@Handles' : '@OnTimeout';
    const message = handler.messageType.ctor.name;
    if (
      typeof (definition.ctor.prototype as Record<string | symbol, unknown>)[handler.method] !== 'function'
    ) {
      fail(method, `${decorator}(${message}) is on something that is not a method; fix: decorate a method`);
    }
    if (handler.role !== 'timeout' && typeof handler.correlateBy !== 'function') {
      fail(
        method,
        `${decorator}(${message}) has no correlateBy function (got ${typeof handler.correlateBy}); fix: pass { correlateBy: (m) => m.<id> }`,
      );
    }
    const policies: [string, unknown, string[]][] = [
      ['onExisting', handler.onExisting, ON_EXISTING],
      ['onCompleted', handler.onCompleted, ON_COMPLETED],
      ['notFound', handler.notFound, NOT_FOUND],
    ];
    for (const [option, value, allowed] of policies) {
      if (value !== undefined && !allowed.includes(value as string)) {
        fail(
          method,
          `${decorator}(${message}) has ${option} ${JSON.stringify(value)}; fix: one of ${allowed.join(', ')}`,
        );
      }
    }
    checkParameter(definition, handler.method, recorded.get(handler.method), fail);
  }
}

/**
 * With `emitDecoratorMetadata` (tsc, swc), the first parameter's declared class must be the
 * decorator's message class (or a base of it). Without the metadata (esbuild, tsx, vite) there is
 * nothing to compare and the check is skipped; the compiler's own check still applies.
 */
function checkParameter(
  definition: SagaDefinition,
  method: string | symbol,
  messageClass: unknown,
  fail: (method: string, text: string) => never,
): void {
  const reflect = Reflect as {
    getMetadata?: (key: string, target: object, property: string | symbol) => unknown;
  };
  const types = reflect.getMetadata?.('design:paramtypes', definition.ctor.prototype as object, method);
  if (!Array.isArray(types) || typeof types[0] !== 'function' || typeof messageClass !== 'function') return;
  const declared = types[0] as abstract new (...args: any[]) => unknown;
  if (declared === Object || declared === messageClass) return;
  if ((messageClass as { prototype: unknown }).prototype instanceof declared) return;
  const declaredType = findMessageType(declared);
  fail(
    String(method),
    `its message parameter is declared as ${declared.name}, ${declaredType ? `a different message type ('${declaredType.name}')` : 'which is not a decorated message class'}, but the decorator names ${(messageClass as { name: string }).name}; fix: declare the parameter as ${(messageClass as { name: string }).name} or decorate the method for ${declared.name}`,
  );
}

/** Whether the compiler emitted constructor parameter types for `ctor` (`emitDecoratorMetadata`). */
export function hasConstructorMetadata(ctor: new (...args: any[]) => object): boolean {
  const reflect = Reflect as { getMetadata?: (key: string, target: object) => unknown };
  return Array.isArray(reflect.getMetadata?.('design:paramtypes', ctor));
}

/** What to change when `ctor` takes constructor parameters the compiler left untyped ('' if not). */
export function metadataHint(ctor: new (...args: any[]) => object): string {
  return ctor.length > 0 && !hasConstructorMetadata(ctor)
    ? `. Its constructor takes ${ctor.length} parameter(s) with no type metadata: compile with "experimentalDecorators": true and "emitDecoratorMetadata": true using tsc or swc (esbuild, tsx and vite do not emit it), or put @inject(Token) on every constructor parameter`
    : '';
}

/**
 * Builds each class once through `resolve` so a class the container cannot build fails at start,
 * naming it; when its constructor takes parameters the compiler left untyped, the error names the
 * compiler flags.
 */
export function validateResolution(
  classes: readonly { readonly ctor: new (...args: any[]) => object; readonly field: string }[],
  resolve: ((ctor: new (...args: any[]) => object) => object) | undefined,
): void {
  for (const { ctor, field } of classes) {
    const hint = metadataHint(ctor);
    if (!resolve) {
      if (ctor.length > 0) {
        throw new ConfigurationError(
          field,
          `${ctor.name} takes constructor parameters, but the endpoint builds it with \`new ${ctor.name}()\`; fix: register it through longhaulModule (Inversify) or pass the endpoint option resolve`,
        );
      }
      continue;
    }
    try {
      resolve(ctor);
    } catch (error) {
      throw new ConfigurationError(
        field,
        `${ctor.name} cannot be built by the container: ${(error as Error).message}${hint}`,
      );
    }
  }
}
