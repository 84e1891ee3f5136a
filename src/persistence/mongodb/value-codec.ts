/**
 * Turns saga state and message headers into documents that both MongoDB and FerretDB v1 store
 * unchanged, and back.
 *
 * Values are kept as plain BSON (objects, arrays, strings, numbers, booleans, null, dates), so a
 * document reads naturally in a mongo shell. Only what FerretDB v1 refuses (or MongoDB cannot hold
 * in an update) is rewritten, and reversibly:
 * - a key containing `.`, `$`, `%` or NUL, or the empty key: those characters become `%2E`, `%24`,
 *   `%25`, `%00`, and `''` becomes `'%'` (FerretDB rejects dots and leading dollars in keys);
 * - an array directly inside an array: `{ '%a': [...] }` (FerretDB v1 rejects nested arrays);
 * - `NaN`, `±Infinity` and `-0`: `{ '%n': 'NaN' }` (FerretDB drops the connection on NaN and
 *   refuses infinities; it also turns -0 into 0);
 * - `undefined` inside an array: `{ '%u': true }` (an `undefined` property is left out);
 * - a state that is not an object, array or null: `{ '%v': value }`.
 * Because every `%` of a real key is escaped, a one-key object `{ '%a' | '%n' | '%u' | '%v': … }`
 * can only be one of these tags.
 */
import { UnsupportedValueError } from './errors.js';

const ARRAY = '%a';
const NUMBER = '%n';
const UNDEFINED = '%u';
const VALUE = '%v';
const NEEDS_ESCAPE = /[.$%\0]/;

/** A key safe in a stored document and in an update path segment. */
export function encodeKey(key: string): string {
  if (key === '') return '%';
  if (!NEEDS_ESCAPE.test(key)) return key;
  return key.replace(/[.$%\0]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);
}

/** The key {@link encodeKey} was given. */
export function decodeKey(key: string): string {
  if (key === '%') return '';
  if (!key.includes('%')) return key;
  return key.replace(/%(2E|24|25|00)/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/** Encodes a saga state (any JSON value with Dates) for storage. */
export function encodeState(state: unknown): unknown {
  if (state === undefined || state === null) return null;
  const encoded = encodeValue(state, { path: ['state'], inside: [] });
  return typeof encoded === 'object' && encoded !== null && !(encoded instanceof Date)
    ? encoded
    : { [VALUE]: encoded };
}

/** Decodes a stored state; throws a description of the problem when it is not one the store wrote. */
export function decodeState(stored: unknown): unknown {
  if (stored === null) return null;
  if (typeof stored !== 'object' || stored instanceof Date) {
    throw new DecodeProblem(`state is ${describe(stored)}, expected a document, an array or null`);
  }
  return decodeValue(stored, 'state');
}

/** Encodes message headers (their keys contain dots, e.g. `longhaul.type`). */
export function encodeHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) out[encodeKey(key)] = value;
  return out;
}

/** Decodes stored headers. */
export function decodeHeaders(stored: unknown, path: string): Record<string, string> {
  if (!isPlainObject(stored)) throw new DecodeProblem(`${path} is ${describe(stored)}, expected a document`);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(stored)) {
    if (typeof value !== 'string') {
      throw new DecodeProblem(`${path}.${key} is ${describe(value)}, expected a string`);
    }
    out[decodeKey(key)] = value;
  }
  return out;
}

/** A stored value that the store never writes; the caller turns it into a `CorruptDocumentError`. */
export class DecodeProblem extends Error {}

/** Where the encoder is: the path (for messages) and the objects it is inside (to catch cycles). */
interface Walk {
  readonly path: (string | number)[];
  readonly inside: object[];
}

function pathOf(walk: Walk): string {
  return walk.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function encodeValue(value: unknown, walk: Walk): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0) ? value : { [NUMBER]: numberTag(value) };
    case 'object':
      break;
    case 'undefined':
      return { [UNDEFINED]: true };
    default:
      throw new UnsupportedValueError(pathOf(walk), `a ${typeof value}`);
  }
  if (value === null) return null;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new UnsupportedValueError(pathOf(walk), 'an invalid Date');
    return value;
  }
  if (
    value instanceof Map ||
    value instanceof Set ||
    value instanceof RegExp ||
    value instanceof WeakMap ||
    value instanceof WeakSet ||
    value instanceof Promise ||
    value instanceof Error ||
    value instanceof ArrayBuffer ||
    ArrayBuffer.isView(value)
  ) {
    throw new UnsupportedValueError(pathOf(walk), `a ${value.constructor.name}`);
  }
  if (walk.inside.includes(value)) throw new UnsupportedValueError(pathOf(walk), 'a circular reference');
  walk.inside.push(value);
  let out: unknown[] | Record<string, unknown>;
  if (Array.isArray(value)) {
    out = [];
    for (let i = 0; i < value.length; i++) {
      walk.path.push(i);
      const encoded = encodeValue(value[i] as unknown, walk);
      walk.path.pop();
      out.push(Array.isArray(encoded) ? { [ARRAY]: encoded } : encoded);
    }
  } else {
    out = {};
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      walk.path.push(key);
      out[encodeKey(key)] = encodeValue(item, walk);
      walk.path.pop();
    }
  }
  walk.inside.pop();
  return out;
}

function decodeValue(value: unknown, path: string): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return value;
  if (value instanceof Date) return value;
  if (Array.isArray(value)) return value.map((item, i) => decodeValue(item, `${path}[${i}]`));
  if (!isPlainObject(value)) throw new DecodeProblem(`${path} is ${describe(value)}`);
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const tagged = decodeTag(keys[0] as string, value[keys[0] as string], path);
    if (tagged.tag) return tagged.value;
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const decoded = decodeKey(key);
    out[decoded] = decodeValue(value[key], `${path}.${decoded}`);
  }
  return out;
}

function decodeTag(key: string, inner: unknown, path: string): { tag: boolean; value?: unknown } {
  switch (key) {
    case ARRAY:
      if (!Array.isArray(inner)) throw new DecodeProblem(`${path}: '${ARRAY}' does not hold an array`);
      return { tag: true, value: decodeValue(inner, path) };
    case NUMBER:
      if (inner !== 'NaN' && inner !== 'Infinity' && inner !== '-Infinity' && inner !== '-0') {
        throw new DecodeProblem(`${path}: '${NUMBER}' holds ${describe(inner)}`);
      }
      return { tag: true, value: inner === '-0' ? -0 : Number(inner) };
    case UNDEFINED:
      return { tag: true, value: undefined };
    case VALUE:
      return { tag: true, value: decodeValue(inner, path) };
    default:
      return { tag: false };
  }
}

function numberTag(value: number): string {
  return Object.is(value, -0) ? '-0' : String(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A short description of a value's type for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'missing';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: string } }).constructor?.name;
    return name === undefined || name === 'Object' ? 'a document' : `a ${name}`;
  }
  return `a ${typeof value}`;
}
