import { describe, expect, it } from 'vitest';
import {
  DecodeError,
  Event,
  fromJson,
  Headers,
  MessageCodec,
  toJson,
  type WireMessage,
} from '../../src/index.js';
import { envelopeFor } from '../support/endpoint.js';

@Event('codec.Shipped', {
  validate: (m: Shipped) => (m.parcels > 0 ? [] : ['parcels must be positive']),
})
class Shipped {
  constructor(
    readonly orderId: string,
    readonly parcels: number,
    readonly at: Date,
    readonly lines: { sku: string; due: Date }[] = [],
  ) {}
}

const codec = new MessageCodec({ maxBodyBytes: 2048 });
const good = (): WireMessage =>
  codec.encode(
    envelopeFor(
      new Shipped('o-1', 2, new Date('2026-05-06T07:08:09.010Z'), [{ sku: 'a', due: new Date(0) }]),
    ),
  );
const withBody = (text: string): WireMessage => ({ ...good(), body: Buffer.from(text) });
const reasonOf = (wire: WireMessage): string => {
  try {
    codec.decode(wire);
  } catch (error) {
    expect(error).toBeInstanceOf(DecodeError);
    return (error as DecodeError).reason;
  }
  throw new Error('decoded without error');
};

describe('MessageCodec', () => {
  it('round-trips an envelope: class instance, Dates at any depth, ids and headers', () => {
    const envelope = envelopeFor(
      new Shipped('o-1', 2, new Date('2026-05-06T07:08:09.010Z'), [{ sku: 'a', due: new Date(0) }]),
      'id-1',
      {
        'x-tenant': 't1',
      },
    );
    const decoded = codec.decode(codec.encode({ ...envelope, causationId: 'cause-1' }));
    expect(decoded.body).toBeInstanceOf(Shipped);
    expect(decoded.body).toEqual(envelope.body);
    expect((decoded.body as Shipped).at).toBeInstanceOf(Date);
    expect((decoded.body as Shipped).lines[0]?.due).toEqual(new Date(0));
    expect(decoded).toMatchObject({
      id: 'id-1',
      type: 'codec.Shipped',
      causationId: 'cause-1',
      correlationId: 'id-1',
    });
    expect(decoded.headers['x-tenant']).toBe('t1');
    expect(decoded.sentAt).toEqual(envelope.sentAt);
  });

  it('rejects an unknown type', () => {
    const wire = good();
    expect(reasonOf({ ...wire, headers: { ...wire.headers, [Headers.type]: 'codec.Nope' } })).toBe(
      'unknown-type',
    );
  });

  it('rejects a body that is not JSON, not an object, or not UTF-8', () => {
    expect(reasonOf(withBody('{"orderId": '))).toBe('undecodable-body');
    expect(reasonOf(withBody('[1,2]'))).toBe('undecodable-body');
    expect(reasonOf(withBody('null'))).toBe('undecodable-body');
    expect(reasonOf({ ...good(), body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) })).toBe('undecodable-body');
    expect(reasonOf(withBody('{"at":{"$date":"yesterday"}}'))).toBe('undecodable-body');
  });

  it('rejects missing envelope fields', () => {
    for (const header of [Headers.type, Headers.correlationId, Headers.conversationId, Headers.sentAt]) {
      const wire = good();
      const headers: Record<string, string> = { ...wire.headers };
      delete headers[header];
      expect(reasonOf({ ...wire, headers }), header).toBe('missing-field');
    }
    expect(reasonOf({ ...good(), messageId: '' })).toBe('missing-field');
    expect(reasonOf({ ...good(), headers: { ...good().headers, [Headers.sentAt]: 'not a date' } })).toBe(
      'missing-field',
    );
  });

  it('rejects a body over the size limit before parsing it', () => {
    expect(reasonOf(withBody(`{"orderId":"${'x'.repeat(3000)}","parcels":1}`))).toBe('too-large');
  });

  it('rejects __proto__, constructor and prototype keys at any depth, and pollutes nothing', () => {
    expect(reasonOf(withBody('{"orderId":"o","parcels":1,"__proto__":{"polluted":true}}'))).toBe(
      'forbidden-key',
    );
    expect(
      reasonOf(withBody('{"orderId":"o","parcels":1,"lines":[{"constructor":{"prototype":{"x":1}}}]}')),
    ).toBe('forbidden-key');
    expect(reasonOf(withBody('{"orderId":"o","parcels":1,"nested":{"prototype":1}}'))).toBe('forbidden-key');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects a body that fails its type validation, naming the problem', () => {
    const wire = codec.encode(envelopeFor(new Shipped('o-1', 0, new Date())));
    expect(reasonOf(wire)).toBe('invalid');
    expect(() => codec.decode(wire)).toThrow(/parcels must be positive/);
  });
});

describe('toJson / fromJson', () => {
  it('keep user data shaped like the date tag apart from dates, with or without dates beside it', () => {
    const at = new Date('2026-12-01T00:00:00.000Z');
    for (const value of [
      { note: { $date: 'not a date' } },
      { note: { $$date: 'x' }, at },
      { list: [{ $date: 'y' }, at, [{ $$$date: 1 }]] },
      { nested: { $$date: { $date: 'z' } } },
    ]) {
      const text = toJson(value);
      expect(text).not.toContain('"$date":"not a date"}}');
      expect(fromJson(text)).toStrictEqual(value);
    }
  });

  it('write what toJSON methods give, and plain data as JSON.stringify does', () => {
    class Money {
      constructor(readonly cents: number) {}
      toJSON(): string {
        return `${this.cents / 100} EUR`;
      }
    }
    expect(fromJson(toJson({ price: new Money(250) }))).toEqual({ price: '2.5 EUR' });
    const plain = { a: [1, 'b', null, true, { c: 1.5 }], d: 'é"\\' };
    expect(toJson(plain)).toBe(JSON.stringify(plain));
    expect(() =>
      toJson(
        (() => {
          const o: Record<string, unknown> = {};
          o.o = o;
          return o;
        })(),
      ),
    ).toThrow(TypeError);
  });
});
