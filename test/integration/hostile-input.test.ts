/**
 * Hostile input on the real services: raw AMQP messages published straight to an endpoint queue
 * (so the transport's own parsing runs, not only the codec) with the MongoDB stores on FerretDB.
 * Each one must end where the design says — the error queue with a reason and the attempts, or
 * acknowledged as a duplicate / late / unmatched message — and nothing else may change: the saga
 * documents, what is published, the endpoint and retry queues, `Object.prototype`.
 */
import { randomUUID } from 'node:crypto';
import { type Document, MongoClient } from 'mongodb';
import { type Options } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Command,
  Endpoint,
  type Envelope,
  Event,
  Handles,
  Headers,
  MessageCodec,
  MongoSagaStore,
  MongoTimeoutStore,
  Saga,
  type SagaContext,
  type SagaOutcome,
  silentLogger,
  StartedBy,
} from '../../src/index.js';
import { type RabbitMqTransport } from '../../src/bus/rabbitmq/index.js';
import { eventually, queueDepth, rawChannel, sleep, TestBed } from './rabbitmq/support.js';

const mongoUrl = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';
const ENDPOINT = 'hostile';
const MAX_BODY = 4096;

@Event('hostile.Opened')
class Opened {
  constructor(readonly id: string) {}
}

@Command('hostile.Bump', {
  validate: (m: Bump) =>
    Number.isInteger(m.amount) && m.amount > 0 ? [] : [`amount must be a positive integer, got ${m.amount}`],
})
class Bump {
  constructor(
    readonly id: string,
    readonly amount: number,
  ) {}
}

@Command('hostile.Close')
class Close {
  constructor(readonly id: string) {}
}

@Event('hostile.Closed')
class Closed {
  constructor(readonly id: string) {}
}

/** How often the handler that always throws ran. */
let unluckyRuns = 0;

@Saga('HostileCounter')
class Counter {
  @StartedBy(Opened, { correlateBy: (m) => m.id })
  opened(_m: Opened, ctx: SagaContext<{ count: number }>): void {
    ctx.state = { count: 0 };
  }

  @Handles(Bump, { correlateBy: (m) => m.id })
  bump(m: Bump, ctx: SagaContext<{ count: number }>): void {
    if (m.amount === 13) {
      unluckyRuns++;
      throw new Error('13 is unlucky');
    }
    ctx.state.count += m.amount;
  }

  @Handles(Close, { correlateBy: (m) => m.id })
  async close(m: Close, ctx: SagaContext<{ count: number }>): Promise<void> {
    await ctx.publish(new Closed(m.id));
    ctx.complete();
  }
}

const codec = new MessageCodec();

function envelope(body: object, id: string = randomUUID()): Envelope {
  const type = (body.constructor as { name: string }).name;
  return {
    id,
    type: `hostile.${type}`,
    correlationId: id,
    conversationId: id,
    sentAt: new Date(),
    headers: {},
    body,
  };
}

/** One raw AMQP message to publish, and where it must end. */
interface Case {
  readonly name: string;
  readonly content: Buffer;
  readonly properties: Options.Publish;
  /** The error queue with this reason (`attempts` as recorded), or acknowledged with this outcome. */
  readonly expect:
    { readonly error: string; readonly attempts: number } | { readonly acked: SagaOutcome['result'] };
}

/** A well-formed message, its headers and body then bent by the case. */
function raw(
  name: string,
  body: object,
  expectation: Case['expect'],
  bend: {
    id?: string | null;
    headers?: (headers: Record<string, unknown>) => Record<string, unknown>;
    content?: Buffer | string;
  } = {},
): Case {
  const wire = codec.encode(envelope(body, bend.id ?? undefined));
  const headers: Record<string, unknown> = { ...wire.headers, 'x-case': name };
  const properties: Options.Publish = {
    persistent: true,
    contentType: 'application/json',
    headers: bend.headers ? bend.headers(headers) : headers,
  };
  if (bend.id !== null) properties.messageId = wire.messageId;
  const content =
    bend.content === undefined
      ? wire.body
      : typeof bend.content === 'string'
        ? Buffer.from(bend.content, 'utf8')
        : bend.content;
  return { name, content, properties, expect: expectation };
}

const without =
  (name: string) =>
  (headers: Record<string, unknown>): Record<string, unknown> => {
    const copy = { ...headers };
    delete copy[name];
    return copy;
  };
const replace =
  (name: string, value: unknown) =>
  (headers: Record<string, unknown>): Record<string, unknown> => ({ ...headers, [name]: value });

const decodeError = (reason: string) => ({ error: `decode/${reason}`, attempts: 1 });

/** What each collection of the database holds, documents sorted by `_id`. */
async function snapshot(client: MongoClient, database: string): Promise<Record<string, Document[]>> {
  const db = client.db(database);
  const out: Record<string, Document[]> = {};
  for (const { name } of await db.listCollections().toArray()) {
    out[name] = await db.collection(name).find({}).sort({ _id: 1 }).toArray();
  }
  return out;
}

function prototypeFingerprint(): string {
  const probe = {} as Record<string, unknown>;
  return JSON.stringify({
    object: Object.getOwnPropertyNames(Object.prototype).sort(),
    array: Object.getOwnPropertyNames(Array.prototype).sort(),
    polluted: [probe['polluted'], probe['isAdmin'], probe['x']],
  });
}

describe('hostile input on RabbitMQ + FerretDB', () => {
  const bed = new TestBed();
  const database = `lh_hostile_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const spy = `${bed.prefix}spy`;
  const outcomes: { readonly type: string; readonly id: string; readonly result: string }[] = [];
  let transport: RabbitMqTransport;
  let endpoint: Endpoint;
  let mongo: MongoClient;

  beforeAll(async () => {
    mongo = new MongoClient(mongoUrl, { serverSelectionTimeoutMS: 5000 });
    await mongo.connect();
    transport = bed.transport();
    const stores = { url: mongoUrl, database, logger: silentLogger };
    endpoint = bed.endpoint(transport, {
      name: ENDPOINT,
      sagas: [Counter],
      sagaStore: new MongoSagaStore(stores),
      timeoutStore: new MongoTimeoutStore(stores),
      maxBodyBytes: MAX_BODY,
      recoverability: { immediateRetries: 1, delays: ['50ms', '100ms'] },
      onHandled: (handled) => {
        for (const saga of handled.sagas) {
          outcomes.push({ type: handled.envelope.type, id: handled.envelope.id, result: saga.result });
        }
      },
    });
    await endpoint.start();
    // Everything published on the events exchange lands here too.
    await rawChannel(async (channel) => {
      await channel.assertQueue(spy, { durable: false });
      await channel.bindQueue(spy, transport.names.exchange, '#');
    });
  });

  afterAll(async () => {
    await endpoint?.stop();
    await endpoint?.sagaStore.close();
    await endpoint?.timeoutStore.close();
    await rawChannel(async (channel) => {
      await channel.deleteQueue(spy);
    }).catch(() => undefined);
    await bed.dispose();
    await mongo?.db(database).dropDatabase();
    await mongo?.close();
  });

  it('parks or acknowledges every hostile message as the design says, and changes nothing else', async () => {
    // Legitimate traffic first: an active instance 'a' (count 2) and a completed one, 'done'.
    await endpoint.bus.publish(new Opened('a'));
    await eventually(() => outcomes.length === 1, 'a opened');
    const bumpId = await endpoint.bus.send(new Bump('a', 2));
    await endpoint.bus.publish(new Opened('done'));
    await eventually(() => outcomes.length === 3, 'a bumped, done opened');
    await endpoint.bus.send(new Close('done'));
    await eventually(() => outcomes.length === 4, 'done closed');
    expect(outcomes.map((o) => o.result)).toEqual(['committed', 'committed', 'committed', 'committed']);
    // Opened twice and Closed once; the spy must see nothing more from here on.
    await eventually(async () => (await queueDepth(spy)) === 3, 'three events on the spy queue');
    const stored = await mongo
      .db(database)
      .collection('longhaul_sagas')
      .find({}, { projection: { correlationKey: 1, status: 1, state: 1, outbox: 1 } })
      .sort({ correlationKey: 1 })
      .toArray();
    expect(stored.map((d) => [d['correlationKey'], d['status'], d['state']])).toEqual([
      ['a', 'active', { count: 2 }],
      ['done', 'completed', null],
    ]);

    const before = await snapshot(mongo, database);
    const prototypeBefore = prototypeFingerprint();
    outcomes.length = 0;

    const good = new Bump('a', 1);
    const cases: Case[] = [
      raw('malformed-json', good, decodeError('undecodable-body'), { content: '{"id":"a","amount":' }),
      raw('not-utf8', good, decodeError('undecodable-body'), {
        content: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
      }),
      raw('json-array', good, decodeError('undecodable-body'), { content: '[{"id":"a","amount":1}]' }),
      raw('empty-body', good, decodeError('undecodable-body'), { content: Buffer.alloc(0) }),
      raw('unknown-type', good, decodeError('unknown-type'), {
        headers: replace(Headers.type, 'hostile.Nope'),
      }),
      raw('no-message-id', good, decodeError('missing-field'), { id: null }),
      raw('no-type-header', good, decodeError('missing-field'), { headers: without(Headers.type) }),
      raw('no-correlation-header', good, decodeError('missing-field'), {
        headers: without(Headers.correlationId),
      }),
      // AMQP header values of other kinds: a number is stringified ('42', an unknown type)…
      raw('numeric-type-header', good, decodeError('unknown-type'), { headers: replace(Headers.type, 42) }),
      // …a table or an array has no text form and counts as missing.
      raw('table-type-header', good, decodeError('missing-field'), {
        headers: replace(Headers.type, { name: 'hostile.Bump' }),
      }),
      raw('array-correlation-header', good, decodeError('missing-field'), {
        headers: replace(Headers.correlationId, ['a']),
      }),
      raw('sent-at-not-a-date', good, decodeError('missing-field'), {
        headers: replace(Headers.sentAt, 'yesterday'),
      }),
      raw('sent-at-boolean', good, decodeError('missing-field'), { headers: replace(Headers.sentAt, true) }),
      // A header table named __proto__ carrying every envelope field: must not stand in for them.
      raw('proto-header-table', good, decodeError('missing-field'), {
        headers: (headers) => {
          const table: Record<string, unknown> = {};
          Object.defineProperty(table, '__proto__', {
            value: { ...headers, polluted: 'yes' },
            enumerable: true,
            configurable: true,
            writable: true,
          });
          table['x-case'] = 'proto-header-table';
          return table;
        },
      }),
      raw('too-large', good, decodeError('too-large'), {
        content: JSON.stringify({ id: 'a', amount: 1, pad: 'x'.repeat(MAX_BODY) }),
      }),
      raw('proto-key', good, decodeError('forbidden-key'), {
        content: '{"id":"a","amount":1,"__proto__":{"polluted":"yes","isAdmin":true}}',
      }),
      raw('escaped-proto-key', good, decodeError('forbidden-key'), {
        content: '{"id":"a","amount":1,"\\u005f_proto__":{"polluted":"yes"}}',
      }),
      raw('constructor-key', good, decodeError('forbidden-key'), {
        content: '{"id":"a","amount":1,"meta":[{"constructor":{"prototype":{"polluted":"yes"}}}]}',
      }),
      raw('invalid', new Bump('a', -1), decodeError('invalid')),
      // (1 + 1 immediate retry) × (1 + 2 delayed retries).
      raw('handler-throws', new Bump('a', 13), { error: 'handler-error', attempts: 6 }),
      raw('duplicate', good, { acked: 'duplicate' }, { id: bumpId }),
      raw('tombstoned', new Bump('done', 5), { acked: 'completed-ignored' }),
      raw('no-such-saga', new Bump('ghost', 5), { acked: 'not-found' }),
    ];
    await rawChannel(async (channel) => {
      for (const c of cases) channel.sendToQueue(bed.queue(ENDPOINT), c.content, c.properties);
      await channel.waitForConfirms();
    });

    const parkedCases = cases.filter((c) => 'error' in c.expect);
    const ackedCases = cases.filter((c) => 'acked' in c.expect);
    await eventually(
      async () =>
        (await transport.errorQueues.count(ENDPOINT)) >= parkedCases.length &&
        outcomes.length >= ackedCases.length,
      'every hostile message parked or acknowledged',
      25_000,
    );
    // Quiet for a moment: nothing more arrives anywhere (no late retry, no redelivery).
    await sleep(400);

    const parked = await transport.errorQueues.list(ENDPOINT);
    const byCase = new Map(parked.map((m) => [m.headers['x-case'], m]));
    expect(parked).toHaveLength(parkedCases.length);
    for (const c of parkedCases) {
      const message = byCase.get(c.name);
      expect(message, c.name).toBeDefined();
      expect({ case: c.name, reason: message?.reason, attempts: message?.attempts }).toEqual({
        case: c.name,
        ...('error' in c.expect ? { reason: c.expect.error, attempts: c.expect.attempts } : {}),
      });
      expect(message?.headers[Headers.errorReason], c.name).toBe(message?.reason);
      expect(message?.source, c.name).toBe(ENDPOINT);
      expect(message?.error, c.name).toMatch(/\w+: \S/);
      expect(message?.headers[Headers.errorStack], c.name).not.toBe('');
      // The body is parked as it came, byte for byte.
      expect(message?.body.equals(c.content), c.name).toBe(true);
      expect(message?.messageId, c.name).toBe(c.properties.messageId ?? '');
    }
    expect(byCase.get('handler-throws')?.error).toBe('Error: 13 is unlucky');
    expect(byCase.get('handler-throws')?.headers[Headers.delayedRetries]).toBe('2');
    expect(byCase.get('invalid')?.error).toContain('amount must be a positive integer, got -1');
    expect(unluckyRuns).toBe(6);

    expect(outcomes.map((o) => o.result).sort()).toEqual(
      ackedCases.map((c) => ('acked' in c.expect ? c.expect.acked : '')).sort(),
    );
    expect(outcomes.find((o) => o.result === 'duplicate')?.id).toBe(bumpId);

    // Nothing else changed.
    expect(await snapshot(mongo, database)).toEqual(before);
    expect(await queueDepth(bed.queue(ENDPOINT))).toBe(0);
    const retryQueues = transport.declaredTopology().queues.filter((q) => q.includes('.retry.'));
    expect(retryQueues).toHaveLength(2);
    for (const queue of retryQueues) expect(await queueDepth(queue), queue).toBe(0);
    expect(await queueDepth(spy)).toBe(3);
    expect(prototypeFingerprint()).toBe(prototypeBefore);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();

    // And the endpoint still works: a good message after all that is handled.
    await endpoint.bus.send(new Bump('a', 1));
    await eventually(
      () => outcomes.some((o) => o.result === 'committed'),
      'a good message after the hostile ones',
    );
    const a = await endpoint.sagaStore.findByCorrelation('HostileCounter', 'a');
    expect(a?.state).toEqual({ count: 3 });
  });
});
