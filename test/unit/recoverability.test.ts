import { describe, expect, it } from 'vitest';
import {
  Event,
  Handles,
  Headers,
  NonRetryableError,
  Saga,
  type SagaContext,
  StartedBy,
  type WireMessage,
} from '../../src/index.js';
import { codec, envelopeFor, startEndpoint } from '../support/endpoint.js';

@Event('rc.Opened', { validate: (m: Opened) => (m.id.length > 0 ? [] : ['id is empty']) })
class Opened {
  constructor(readonly id: string) {}
}
@Event('rc.Poke')
class Poke {
  constructor(
    readonly id: string,
    readonly mode: 'fail-twice' | 'always' | 'fatal' | 'ok',
  ) {}
}

const calls = new Map<string, number>();

@Saga('Recoverable')
class RecoverableSaga {
  @StartedBy(Opened, { correlateBy: (m) => m.id })
  opened(_m: Opened, ctx: SagaContext<{ pokes: number }>): void {
    ctx.state = { pokes: 0 };
  }

  @Handles(Poke, { correlateBy: (m) => m.id })
  poke(m: Poke, ctx: SagaContext<{ pokes: number }>): void {
    const n = (calls.get(m.id) ?? 0) + 1;
    calls.set(m.id, n);
    if (m.mode === 'always') throw new Error(`always fails (${n})`);
    if (m.mode === 'fatal') throw new NonRetryableError('cannot ever work');
    if (m.mode === 'fail-twice' && n <= 2) throw new Error('transient');
    ctx.state.pokes++;
  }
}

const start = (options: Parameters<typeof startEndpoint>[0] = {}) =>
  startEndpoint({ sagas: [RecoverableSaga], ...options });

describe('recoverability', () => {
  it('retries immediately, in process, and succeeds without a delayed retry', async () => {
    const t = await start({ recoverability: { immediateRetries: 2, delays: ['10s'] } });
    await t.deliver(new Opened('a'));
    await t.deliver(new Poke('a', 'fail-twice'));
    expect(calls.get('a')).toBe(3);
    expect((await t.sagaStore.findByCorrelation('Recoverable', 'a'))?.state).toEqual({ pokes: 1 });
    expect(t.transport.waitingRetries).toBe(0);
  });

  it('then retries after each configured delay, then moves the message to the error queue with the reason', async () => {
    const t = await start({ recoverability: { immediateRetries: 1, delays: ['1s', '10s'] } });
    await t.deliver(new Opened('b'));
    const sent = await t.deliver(new Poke('b', 'always'));
    expect(calls.get('b')).toBe(2);
    expect(t.transport.waitingRetries).toBe(1);
    await t.clock.advance('999ms');
    await t.idle();
    expect(calls.get('b')).toBe(2);
    await t.clock.advance('1ms');
    await t.idle();
    expect(calls.get('b')).toBe(4);
    await t.clock.advance('10s');
    await t.idle();
    expect(calls.get('b')).toBe(6);
    const [failed] = t.transport.errors('unit');
    expect(failed?.messageId).toBe(sent.messageId);
    expect(failed?.headers).toMatchObject({
      [Headers.errorReason]: 'handler-error',
      [Headers.errorAttempts]: '6',
      [Headers.errorSource]: 'unit',
      [Headers.delayedRetries]: '2',
    });
    expect(failed?.headers[Headers.errorMessage]).toMatch(/always fails \(6\)/);
    expect(failed?.headers[Headers.errorStack]).toMatch(/RecoverableSaga\.poke|poke/);
    expect(new Date(failed?.headers[Headers.errorTime] ?? '').getTime()).toBe(t.clock.now().getTime());
    expect((await t.sagaStore.findByCorrelation('Recoverable', 'b'))?.state).toEqual({ pokes: 0 });
  });

  it('sends a NonRetryableError straight to the error queue', async () => {
    const t = await start({ recoverability: { immediateRetries: 5, delays: ['1s'] } });
    await t.deliver(new Opened('c'));
    await t.deliver(new Poke('c', 'fatal'));
    expect(calls.get('c')).toBe(1);
    expect(t.transport.errors('unit')[0]?.headers).toMatchObject({
      [Headers.errorReason]: 'non-retryable',
      [Headers.errorAttempts]: '1',
    });
  });

  it('replaying from the error queue hands the message back, and it is handled', async () => {
    const t = await start({ recoverability: { immediateRetries: 0, delays: [] } });
    await t.deliver(new Opened('d'));
    await t.deliver(new Poke('d', 'fail-twice'));
    await t.deliver(new Poke('d', 'fail-twice'), { id: 'second' });
    expect(t.transport.errors('unit')).toHaveLength(2);
    expect(t.transport.replayErrors('unit')).toBe(2);
    await t.idle();
    expect(t.transport.errors('unit')).toHaveLength(0);
    expect((await t.sagaStore.findByCorrelation('Recoverable', 'd'))?.state).toEqual({ pokes: 2 });
  });

  describe('bad input goes to the error queue at once with its reason, and changes nothing', () => {
    const good = (): WireMessage => codec.encode(envelopeFor(new Poke('e', 'ok')));
    const cases: [string, () => WireMessage, string][] = [
      [
        'unknown type',
        () => ({ ...good(), headers: { ...good().headers, [Headers.type]: 'rc.Nope' } }),
        'decode/unknown-type',
      ],
      ['malformed JSON', () => ({ ...good(), body: Buffer.from('{"id": "e", ') }), 'decode/undecodable-body'],
      [
        'missing envelope field',
        () => ({ ...good(), headers: { [Headers.type]: 'rc.Poke' } }),
        'decode/missing-field',
      ],
      ['missing message id', () => ({ ...good(), messageId: '' }), 'decode/missing-field'],
      [
        'body over the limit',
        () => ({ ...good(), body: Buffer.from(`{"id":"e","pad":"${'x'.repeat(600)}"}`) }),
        'decode/too-large',
      ],
      [
        '__proto__ key',
        () => ({ ...good(), body: Buffer.from('{"id":"e","mode":"ok","__proto__":{"x":1}}') }),
        'decode/forbidden-key',
      ],
      [
        'constructor key',
        () => ({ ...good(), body: Buffer.from('{"id":"e","mode":"ok","constructor":{"prototype":{}}}') }),
        'decode/forbidden-key',
      ],
      ['failed validation', () => codec.encode(envelopeFor(new Opened(''))), 'decode/invalid'],
      [
        'no correlation value',
        () => ({ ...good(), body: Buffer.from('{"mode":"ok"}') }),
        'correlation-missing',
      ],
    ];
    for (const [name, make, reason] of cases) {
      it(name, async () => {
        const t = await start({ maxBodyBytes: 512, recoverability: { immediateRetries: 3, delays: ['1s'] } });
        await t.deliver(new Opened('e'));
        const before = await t.sagaStore.findByCorrelation('Recoverable', 'e');
        const message = make();
        await t.deliverWire(message);
        const errors = t.transport.errors('unit');
        expect(errors).toHaveLength(1);
        expect(errors[0]?.headers[Headers.errorReason]).toBe(reason);
        expect(errors[0]?.headers[Headers.errorAttempts]).toBe('1');
        expect(Buffer.compare(errors[0]!.body, message.body)).toBe(0);
        expect(t.transport.waitingRetries).toBe(0);
        expect(await t.sagaStore.findByCorrelation('Recoverable', 'e')).toEqual(before);
        expect(t.sagaStore.size).toBe(1);
      });
    }
  });
});
