/**
 * Property-based tests of the decoder (fast-check, fixed seeds so a run is reproducible): what the
 * encoder wrote decodes back equal; hostile bytes, strings and header maps only ever end in a
 * `DecodeError` with a reason, and never touch `Object.prototype`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DecodeError,
  type Envelope,
  Event,
  fromJson,
  Headers,
  MessageCodec,
  toJson,
  type WireMessage,
} from '../../src/index.js';

const SEED = 20261123;
const RUNS = 500;
const FORBIDDEN = ['__proto__', 'constructor', 'prototype'] as const;

/** Any body at all (no validation): the round trip must keep whatever the encoder wrote. */
@Event('fuzz.Bag')
class Bag {}

/** A validator that throws on bodies without `items` (a TypeError the codec must turn into `invalid`). */
@Event('fuzz.Order', {
  validate: (m: { items: unknown[] }) => (m.items.length > 0 ? [] : ['no items']),
})
class Order {
  constructor(readonly items: unknown[]) {}
}

const codec = new MessageCodec();

/** `Object.prototype` as it is now: its own property names and whether anything reads `polluted`. */
function prototypeFingerprint(): string {
  const probe = {} as Record<string, unknown>;
  return JSON.stringify({
    names: Object.getOwnPropertyNames(Object.prototype).sort(),
    polluted: probe['polluted'] === undefined && probe['isAdmin'] === undefined,
    array: Object.getOwnPropertyNames(Array.prototype).length,
  });
}
const pristine = prototypeFingerprint();

/** Runs `decode` and answers the reason it failed with, or 'ok'; anything but a DecodeError is rethrown. */
function outcome(wire: WireMessage): string {
  try {
    codec.decode(wire);
    return 'ok';
  } catch (error) {
    if (error instanceof DecodeError) return error.reason;
    throw error;
  }
}

function envelope(body: object, overrides: Partial<Envelope> = {}): Envelope {
  return {
    id: 'id-1',
    type: 'fuzz.Bag',
    correlationId: 'c-1',
    conversationId: 'v-1',
    sentAt: new Date('2026-11-23T10:00:00.000Z'),
    headers: {},
    body,
    ...overrides,
  };
}

const goodHeaders = codec.encode(envelope(new Bag())).headers;

/** Object keys: arbitrary text (lone surrogates included), never a forbidden key nor the date tag. */
const key = fc
  .string({ unit: 'binary', maxLength: 8 })
  .filter((k) => !(FORBIDDEN as readonly string[]).includes(k) && k !== '$date');

/** JSON values plus Dates, at any depth. -0 is left out: JSON has no negative zero. */
const { value: valueArb } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.date({ noInvalidDate: true }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4, noNullPrototype: true }),
  ),
}));
const bodyArb = fc.dictionary(key, valueArb, { maxKeys: 6, noNullPrototype: true });
const nonEmpty = fc.string({ unit: 'binary', minLength: 1, maxLength: 16 });
const customHeaders = fc.dictionary(
  fc.string({ maxLength: 10 }).filter((k) => !k.startsWith('longhaul.')),
  fc.string({ unit: 'binary', maxLength: 10 }),
  { maxKeys: 3, noNullPrototype: true },
);

describe('the decoder under fast-check', () => {
  it('(a) decodes back equal whatever the encoder produced: JSON values, Dates at any depth, ids and headers', () => {
    fc.assert(
      fc.property(
        bodyArb,
        nonEmpty,
        nonEmpty,
        nonEmpty,
        fc.option(nonEmpty, { nil: undefined }),
        fc.date({ noInvalidDate: true }),
        customHeaders,
        (fields, id, correlationId, conversationId, causationId, sentAt, headers) => {
          const body = Object.assign(new Bag(), fields);
          const sent = envelope(body, { id, correlationId, conversationId, causationId, sentAt, headers });
          const decoded = codec.decode(codec.encode(sent));
          expect(decoded.body).toBeInstanceOf(Bag);
          // toStrictEqual tells a Date from its `{ $date }` form and checks every nested type.
          expect({ ...decoded.body }).toStrictEqual(fields);
          expect(decoded).toMatchObject({ id, type: 'fuzz.Bag', correlationId, conversationId, causationId });
          expect(decoded.sentAt.getTime()).toBe(sentAt.getTime());
          for (const [name, text] of Object.entries(headers)) expect(decoded.headers[name]).toBe(text);
          // And the JSON layer alone: fromJson(toJson(x)) is x.
          expect(fromJson(toJson(fields))).toStrictEqual(fields);
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });

  // A known bug (see the issue 7 report): the encoder does not escape user data shaped like its
  // own date tag, so a plain `{ "$date": "<text>" }` object comes back as a Date, or is rejected
  // as `undecodable-body` when the text is not a date. This flips to failing once that is fixed:
  // then fold `$date` keys back into the generator of (a) and delete this test.
  it('(a′) a user object shaped like the date tag { $date: text } round-trips unchanged', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (text) => {
        const fields = { when: { $date: text } };
        const decoded = codec.decode(codec.encode(envelope(Object.assign(new Bag(), fields))));
        expect({ ...decoded.body }).toStrictEqual(fields);
      }),
      { seed: SEED, numRuns: 50 },
    );
  });

  it('(b) arbitrary bytes as a body only ever fail with a DecodeError, and pollute nothing', () => {
    const reasons = new Set<string>();
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 256 }),
        fc.constantFrom('fuzz.Bag', 'fuzz.Order'),
        (bytes, type) => {
          reasons.add(
            outcome({
              messageId: 'm-1',
              headers: { ...goodHeaders, [Headers.type]: type },
              body: Buffer.from(bytes),
            }),
          );
          expect(prototypeFingerprint()).toBe(pristine);
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    expect(reasons).toContain('undecodable-body');
  });

  it('(b) arbitrary strings and mangled JSON as a body only ever fail with a DecodeError, and pollute nothing', () => {
    const json = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v));
    /** Valid JSON with a cut, a splice or an inserted hostile key somewhere. */
    const mangled = fc
      .tuple(
        json,
        fc.nat(),
        fc.constantFrom(
          '',
          '"__proto__":{"polluted":1},',
          '{"constructor":{"prototype":{"polluted":1}}}',
          '{"$date":"never"}',
          '{"$date":1}',
          '\uFFFF',
          '\\ud800',
          ',',
          ']',
          '}',
          'null',
        ),
        fc.boolean(),
      )
      .map(([text, at, insert, cut]) => {
        const i = text.length === 0 ? 0 : at % text.length;
        return cut ? text.slice(0, i) : `${text.slice(0, i)}${insert}${text.slice(i)}`;
      });
    const reasons = new Set<string>();
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 64 }), json, mangled),
        fc.constantFrom('fuzz.Bag', 'fuzz.Order'),
        (text, type) => {
          reasons.add(
            outcome({
              messageId: 'm-1',
              headers: { ...goodHeaders, [Headers.type]: type },
              body: Buffer.from(text, 'utf8'),
            }),
          );
          expect(prototypeFingerprint()).toBe(pristine);
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    // The generators do reach the decoder's branches (not only its first check).
    for (const reason of ['ok', 'undecodable-body', 'invalid']) expect(reasons).toContain(reason);
  });

  it('(c) __proto__, constructor or prototype keys at any depth (escaped or not) are always rejected as forbidden-key', () => {
    const containerish = fc.dictionary(key, valueArb, { minKeys: 0, maxKeys: 4, noNullPrototype: true });
    fc.assert(
      fc.property(
        containerish,
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.constantFrom(...FORBIDDEN),
        valueArb,
        fc.boolean(),
        (fields, path, forbidden, value, escape) => {
          const root = structuredClone(fields) as Record<string, unknown>;
          // Walk down `path` through objects and arrays, then plant the key in the object reached.
          let node: object = root;
          for (const step of path) {
            const children = Object.values(node).filter(
              (child): child is object =>
                child !== null && typeof child === 'object' && !(child instanceof Date),
            );
            const next = children[step % Math.max(children.length, 1)];
            if (next === undefined) break;
            node = next;
          }
          const holder: Record<string, unknown> = Array.isArray(node)
            ? {}
            : (node as Record<string, unknown>);
          if (Array.isArray(node)) node.push(holder);
          Object.defineProperty(holder, forbidden, {
            value,
            enumerable: true,
            configurable: true,
            writable: true,
          });
          let text = toJson(root);
          expect(text).toContain(`"${forbidden}":`);
          // JSON escapes name the same key: `\u005f_proto__` is `__proto__` once parsed.
          if (escape)
            text = text
              .split(`"${forbidden}":`)
              .join(`"\\u00${forbidden.charCodeAt(0).toString(16)}${forbidden.slice(1)}":`);
          const wire: WireMessage = {
            messageId: 'm-1',
            headers: goodHeaders,
            body: Buffer.from(text, 'utf8'),
          };
          expect(outcome(wire)).toBe('forbidden-key');
          expect(() => fromJson(text)).toThrow(DecodeError);
          expect(prototypeFingerprint()).toBe(pristine);
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('(d) random header maps and ids: decoded, or a DecodeError saying missing-field or unknown-type', () => {
    const body = codec.encode(envelope(new Bag())).body;
    const reserved = [
      Headers.type,
      Headers.correlationId,
      Headers.conversationId,
      Headers.sentAt,
      Headers.causationId,
    ] as const;
    /** For each reserved header: absent, its good value, empty, or junk; plus random extra headers. */
    const headerMap = fc
      .tuple(
        fc.tuple(
          ...reserved.map((name) =>
            fc.option(
              fc.oneof(
                fc.constant(goodHeaders[name] ?? 'cause-1'),
                fc.constant(''),
                fc.constantFrom('fuzz.Order', 'fuzz.Nope', '__proto__', 'constructor', 'toString'),
                fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
                fc.string({ unit: 'binary', maxLength: 12 }),
              ),
              { nil: undefined },
            ),
          ),
        ),
        fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 8 }), {
          maxKeys: 4,
        }),
      )
      .map(([values, extra]) => {
        const headers: Record<string, string> = { ...extra };
        reserved.forEach((name, i) => {
          const v = values[i];
          if (v === undefined) delete headers[name];
          else headers[name] = v;
        });
        return headers;
      });
    const reasons = new Set<string>();
    fc.assert(
      fc.property(
        headerMap,
        fc.oneof(fc.constant(''), fc.constant('m-1'), fc.string({ unit: 'binary', maxLength: 12 })),
        (headers, messageId) => {
          let decoded: Envelope | undefined;
          try {
            decoded = codec.decode({ messageId, headers, body });
            reasons.add('ok');
          } catch (error) {
            expect(error).toBeInstanceOf(DecodeError);
            // 'invalid' is fuzz.Order's validator refusing the Bag body: a decode failure with a reason.
            expect(['missing-field', 'unknown-type', 'invalid']).toContain((error as DecodeError).reason);
            reasons.add((error as DecodeError).reason);
          }
          if (decoded) {
            expect(decoded.id).toBe(messageId);
            expect(decoded.id).not.toBe('');
            for (const field of [decoded.type, decoded.correlationId, decoded.conversationId]) {
              expect(typeof field).toBe('string');
              expect(field).not.toBe('');
            }
            expect(Number.isNaN(decoded.sentAt.getTime())).toBe(false);
            expect(['fuzz.Bag', 'fuzz.Order']).toContain(decoded.type);
          }
          expect(prototypeFingerprint()).toBe(pristine);
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    for (const reason of ['ok', 'missing-field', 'unknown-type']) expect(reasons).toContain(reason);
  });

  it('(d) header maps with values that are not strings (a careless transport) never crash the decoder', () => {
    const junk = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.integer(),
      fc.boolean(),
      fc.array(fc.string(), { maxLength: 2 }),
      fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(Headers.type, Headers.correlationId, Headers.conversationId, Headers.sentAt),
        junk,
        (name, value) => {
          const headers = { ...goodHeaders, [name]: value } as unknown as Record<string, string>;
          expect(outcome({ messageId: 'm-1', headers, body: codec.encode(envelope(new Bag())).body })).toBe(
            'missing-field',
          );
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });
});

// Keeps the Order class (and its registration) in the emitted module.
void Order;
