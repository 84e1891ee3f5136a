import { describe, expect, it } from 'vitest';
import {
  Command,
  ContextSealedError,
  Endpoint,
  Event,
  Handles,
  Headers,
  InMemoryTransport,
  Saga,
  type SagaContext,
  StartedBy,
  type Transport,
  type WireMessage,
  silentLogger,
} from '../../src/index.js';
import { codec, emitted, envelopeFor, startEndpoint } from '../support/endpoint.js';

@Event('cp.AccountOpened')
class AccountOpened {
  constructor(readonly accountId: string) {}
}
@Event('cp.Deposited')
class Deposited {
  constructor(
    readonly accountId: string,
    readonly amount: number,
  ) {}
}
@Event('cp.AccountClosed')
class AccountClosed {
  constructor(readonly accountId: string) {}
}
@Command('cp.Notify')
class Notify {
  constructor(
    readonly accountId: string,
    readonly balance: number,
  ) {}
}
@Event('cp.BalanceChanged')
class BalanceChanged {
  constructor(
    readonly accountId: string,
    readonly balance: number,
  ) {}
}

interface Balance {
  balance: number;
  deposits: number;
}

/** Hooks a test sets to pause or observe handler runs. */
const hooks: { beforeCommit?: () => Promise<void>; runs: number } = { runs: 0 };

@Saga('Account')
class AccountSaga {
  @StartedBy(AccountOpened, { correlateBy: (m) => m.accountId })
  opened(_msg: AccountOpened, ctx: SagaContext<Balance>): void {
    ctx.state = { balance: 0, deposits: 0 };
  }

  @Handles(Deposited, { correlateBy: (m) => m.accountId })
  async deposited(msg: Deposited, ctx: SagaContext<Balance>): Promise<void> {
    hooks.runs++;
    ctx.state.balance += msg.amount;
    ctx.state.deposits++;
    await ctx.send(new Notify(msg.accountId, ctx.state.balance));
    await ctx.publish(new BalanceChanged(msg.accountId, ctx.state.balance));
    await hooks.beforeCommit?.();
  }

  @Handles(AccountClosed, { correlateBy: (m) => m.accountId })
  closed(_msg: AccountClosed, ctx: SagaContext<Balance>): void {
    ctx.complete();
  }
}

@Event('cp.Leaky')
class Leaky {
  constructor(readonly accountId: string) {}
}

/** Keeps its context past the handler's return, as a callback or an un-awaited promise would. */
const leaked: { ctx?: SagaContext<Balance> } = {};

@Saga('LeakyAccount')
class LeakySaga {
  @StartedBy(Leaky, { correlateBy: (m) => m.accountId })
  leak(_msg: Leaky, ctx: SagaContext<Balance>): void {
    ctx.state = { balance: 1, deposits: 0 };
    leaked.ctx = ctx;
  }
}

/** A second saga type handling one of the same messages. */
@Saga('Audit')
class AuditSaga {
  @StartedBy(Deposited, { correlateBy: (m) => m.accountId, onExisting: 'handle' })
  deposited(msg: Deposited, ctx: SagaContext<{ seen: number[] }>): void {
    ctx.state.seen = [...(ctx.state.seen ?? []), msg.amount];
  }
}

const routes = { 'cp.Notify': 'notifications' };
const start = (extra: Parameters<typeof startEndpoint>[0] = {}) =>
  startEndpoint({ sagas: [AccountSaga], routes, ...extra });

describe('the commit path', () => {
  it('starts an instance with the starting message and correlates later ones to it', async () => {
    const t = await start();
    await t.deliver(new AccountOpened('a-1'));
    await t.deliver(new AccountOpened('a-2'));
    await t.deliver(new Deposited('a-1', 10));
    await t.deliver(new Deposited('a-1', 5));
    const a1 = await t.sagaStore.findByCorrelation('Account', 'a-1');
    expect(a1?.state).toEqual({ balance: 15, deposits: 2 });
    expect(a1?.version).toBe(3);
    expect((await t.sagaStore.findByCorrelation('Account', 'a-2'))?.state).toEqual({
      balance: 0,
      deposits: 0,
    });
    expect(emitted(t.transport, 'cp.Notify').map((m) => m.body)).toEqual([
      { accountId: 'a-1', balance: 10 },
      { accountId: 'a-1', balance: 15 },
    ]);
    expect(emitted(t.transport, 'cp.Notify')[0]?.destination).toEqual(['notifications']);
  });

  it('lets several saga types handle one message, each in its own instance', async () => {
    const t = await start({ sagas: [AccountSaga, AuditSaga] });
    await t.deliver(new AccountOpened('a-1'));
    await t.deliver(new Deposited('a-1', 7));
    expect((await t.sagaStore.findByCorrelation('Account', 'a-1'))?.state).toMatchObject({ balance: 7 });
    expect((await t.sagaStore.findByCorrelation('Audit', 'a-1'))?.state).toEqual({ seen: [7] });
  });

  it('gives outgoing messages ids derived from the incoming id, the instance and the position', async () => {
    const a = await start();
    const b = await start();
    for (const t of [a, b]) {
      await t.deliver(new AccountOpened('a-1'), { id: 'open-1' });
      await t.deliver(new Deposited('a-1', 1), { id: 'dep-1' });
    }
    const ids = (t: typeof a) =>
      [...emitted(t.transport, 'cp.Notify'), ...emitted(t.transport, 'cp.BalanceChanged')].map((m) => m.id);
    expect(ids(a)).toEqual(ids(b));
    expect(new Set(ids(a)).size).toBe(2);
  });

  it('two deliveries for one instance in one process run one after the other: no conflict', async () => {
    const t = await start({ concurrency: 2 });
    await t.deliver(new AccountOpened('a-1'));
    hooks.runs = 0;
    let inside = 0;
    let most = 0;
    hooks.beforeCommit = async () => {
      most = Math.max(most, ++inside);
      await new Promise((resolve) => setImmediate(resolve));
      inside--;
    };
    await Promise.all([
      t.transport.send(codecWire(new Deposited('a-1', 10)), 'unit'),
      t.transport.send(codecWire(new Deposited('a-1', 32)), 'unit'),
    ]);
    await t.idle();
    hooks.beforeCommit = undefined;
    expect((await t.sagaStore.findByCorrelation('Account', 'a-1'))?.state).toEqual({
      balance: 42,
      deposits: 2,
    });
    expect(most).toBe(1);
    expect(hooks.runs).toBe(2);
    expect(t.handled.flatMap((h) => h.sagas).reduce((n, s) => n + (s.conflicts ?? 0), 0)).toBe(0);
  });

  it('two processes deliver for one instance at once: one commit wins, the other reruns on fresh state', async () => {
    const t = await start();
    // A second endpoint over the same store: another process handling the same saga type.
    const other = new Endpoint({
      name: 'unit-2',
      logger: silentLogger,
      transport: t.transport,
      sagaStore: t.sagaStore,
      timeoutStore: t.timeoutStore,
      clock: t.clock,
      sagas: [AccountSaga],
      routes,
      timeouts: { pollInterval: Infinity },
      outbox: { sweepInterval: Infinity },
      onHandled: (h) => t.handled.push(h),
    });
    await other.start();
    try {
      await t.deliver(new AccountOpened('a-1'));
      hooks.runs = 0;
      let entered = 0;
      let release!: () => void;
      const bothLoaded = new Promise<void>((resolve) => (release = resolve));
      hooks.beforeCommit = async () => {
        if (++entered === 2) release();
        if (entered <= 2) await bothLoaded;
      };
      await Promise.all([
        t.transport.send(codecWire(new Deposited('a-1', 10)), 'unit'),
        t.transport.send(codecWire(new Deposited('a-1', 32)), 'unit-2'),
      ]);
      await t.idle();
      hooks.beforeCommit = undefined;
      const stored = await t.sagaStore.findByCorrelation('Account', 'a-1');
      expect(stored?.state).toEqual({ balance: 42, deposits: 2 });
      expect(hooks.runs).toBe(3);
      const conflicts = t.handled.flatMap((h) => h.sagas).reduce((n, s) => n + (s.conflicts ?? 0), 0);
      expect(conflicts).toBe(1);
      // The loser's first run emitted nothing: only the two committed runs' messages left.
      const balances = emitted(t.transport, 'cp.Notify').map((m) => (m.body as Notify).balance);
      expect(balances).toHaveLength(2);
      expect([
        [10, 42],
        [32, 42],
      ]).toContainEqual([...balances].sort((a, b) => a - b));
    } finally {
      hooks.beforeCommit = undefined;
      await other.stop();
    }
  });

  it('a redelivered message does not rerun the handler nor emit twice', async () => {
    const t = await start();
    await t.deliver(new AccountOpened('a-1'));
    hooks.runs = 0;
    await t.deliver(new Deposited('a-1', 10), { id: 'dep-1' });
    await t.deliver(new Deposited('a-1', 10), { id: 'dep-1' });
    expect(hooks.runs).toBe(1);
    expect((await t.sagaStore.findByCorrelation('Account', 'a-1'))?.state).toEqual({
      balance: 10,
      deposits: 1,
    });
    expect(emitted(t.transport, 'cp.Notify')).toHaveLength(1);
    expect(t.handled.at(-1)?.sagas[0]?.result).toBe('duplicate');
  });

  it('two concurrent deliveries of one message emit its messages once, even while the first is still dispatching', async () => {
    const t = await start({
      concurrency: 2,
      wrap: (inner) => ({
        ...failingPublishes(inner, () => false),
        publish: async (m) => {
          await new Promise((resolve) => setTimeout(resolve, 30)); // a slow broker confirm
          return inner.publish(m);
        },
      }),
    });
    await t.deliver(new AccountOpened('a-1'));
    hooks.runs = 0;
    const copy = codec.encode(envelopeFor(new Deposited('a-1', 10), 'dep-same'));
    await Promise.all([t.transport.send(copy, 'unit'), t.transport.send(copy, 'unit')]);
    await t.idle();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await t.idle();
    expect(emitted(t.transport, 'cp.BalanceChanged')).toHaveLength(1);
    expect(emitted(t.transport, 'cp.Notify')).toHaveLength(1);
    expect((await t.sagaStore.findByCorrelation('Account', 'a-1'))?.state).toEqual({
      balance: 10,
      deposits: 1,
    });
  });

  it('a publish that fails after the commit backs off; a redelivery past the backoff dispatches it exactly once', async () => {
    let failPublishes = 1;
    const t = await start({
      recoverability: { immediateRetries: 0, delays: ['1s'] },
      wrap: (inner) => failingPublishes(inner, () => failPublishes-- > 0),
    });
    await t.deliver(new AccountOpened('a-1'));
    hooks.runs = 0;
    await t.deliver(new Deposited('a-1', 10), { id: 'dep-1' });
    // Committed, but the publish failed: the state moved, the outbox holds it with its attempt.
    const afterCrash = await t.sagaStore.findByCorrelation('Account', 'a-1');
    expect(afterCrash?.state).toEqual({ balance: 10, deposits: 1 });
    expect(afterCrash?.outbox.map((e) => [e.operation, e.attempts])).toEqual([['publish', 1]]);
    expect(afterCrash?.outbox[0]?.lastError).toMatch(/simulated crash/);
    expect(emitted(t.transport, 'cp.BalanceChanged')).toHaveLength(0);
    await t.deliver(new Deposited('a-1', 10), { id: 'dep-1' }); // still backing off: left alone
    expect(emitted(t.transport, 'cp.BalanceChanged')).toHaveLength(0);
    await t.clock.advance('1s');
    await t.deliver(new Deposited('a-1', 10), { id: 'dep-1' });
    await t.deliver(new Deposited('a-1', 10), { id: 'dep-1' });
    expect(hooks.runs).toBe(1);
    expect(emitted(t.transport, 'cp.BalanceChanged')).toHaveLength(1);
    expect(emitted(t.transport, 'cp.Notify')).toHaveLength(1);
    expect((await t.sagaStore.findByCorrelation('Account', 'a-1'))?.outbox).toEqual([]);
    expect(t.transport.errors('unit')).toHaveLength(0);
  });

  it('the outbox sweeper dispatches entries a dead process left pending, once', async () => {
    let failPublishes = 1;
    const t = await start({
      recoverability: { immediateRetries: 0, delays: [] },
      outbox: { sweepInterval: Infinity, lease: '30s' },
      wrap: (inner) => failingPublishes(inner, () => failPublishes-- > 0),
    });
    await t.deliver(new AccountOpened('a-1'));
    await t.deliver(new Deposited('a-1', 10));
    expect(emitted(t.transport, 'cp.BalanceChanged')).toHaveLength(0);
    expect(await t.endpoint.sweepOutbox()).toBe(0); // not yet past the lease
    await t.clock.advance('31s');
    expect(await t.endpoint.sweepOutbox()).toBe(1); // the Notify went out; the failed publish did not
    expect(await t.endpoint.sweepOutbox()).toBe(0);
    await t.idle();
    expect(emitted(t.transport, 'cp.BalanceChanged')).toHaveLength(1);
    expect(emitted(t.transport, 'cp.Notify')).toHaveLength(1);
  });

  it('a completed saga keeps a tombstone: a late message neither restarts nor changes it', async () => {
    const t = await start({ sagaOptions: { tombstoneRetention: '1d' } });
    await t.deliver(new AccountOpened('a-1'));
    await t.deliver(new AccountClosed('a-1'));
    const tombstone = await t.sagaStore.findByCorrelation('Account', 'a-1');
    expect(tombstone).toMatchObject({ status: 'completed', state: null });
    hooks.runs = 0;
    await t.deliver(new Deposited('a-1', 10));
    await t.deliver(new AccountOpened('a-1'));
    expect(hooks.runs).toBe(0);
    expect(await t.sagaStore.findByCorrelation('Account', 'a-1')).toEqual(tombstone);
    expect(t.handled.at(-1)?.sagas[0]?.result).toBe('completed-ignored');
    // After the retention period the tombstone goes, and the key may start a new instance.
    await t.clock.advance('25h');
    await t.endpoint.sweepOutbox();
    expect(await t.sagaStore.findByCorrelation('Account', 'a-1')).toBeUndefined();
  });

  it('a context used after its handler returned throws context-sealed instead of dropping the call', async () => {
    const t = await start({ sagas: [LeakySaga] });
    await t.deliver(new Leaky('a-9'));
    const ctx = leaked.ctx!;
    const sealed = { name: 'ContextSealedError', code: 'context-sealed' };
    await expect(ctx.send(new Notify('a-9', 1))).rejects.toMatchObject(sealed);
    await expect(ctx.publish(new BalanceChanged('a-9', 1))).rejects.toMatchObject(sealed);
    await expect(ctx.requestTimeout(new Leaky('a-9'), { after: '1m' })).rejects.toMatchObject(sealed);
    await expect(ctx.cancelTimeout(Leaky)).rejects.toMatchObject(sealed);
    expect(() => ctx.complete()).toThrow(ContextSealedError);
    await expect(ctx.send(new Notify('a-9', 1))).rejects.toThrow(/after the handler of LeakyAccount/);
    expect((await t.sagaStore.findByCorrelation('LeakyAccount', 'a-9'))?.status).toBe('active');
  });

  it("saga not found: acknowledged and logged by default, to the error queue under policy 'error'", async () => {
    const logged = await start();
    await logged.deliver(new Deposited('nobody', 1));
    expect(logged.handled.at(-1)?.sagas[0]?.result).toBe('not-found');
    expect(logged.transport.errors('unit')).toHaveLength(0);
    const strict = await start({ sagaOptions: { notFound: 'error' } });
    await strict.deliver(new Deposited('nobody', 1));
    const [failed] = strict.transport.errors('unit');
    expect(failed?.headers[Headers.errorReason]).toBe('saga-not-found');
    expect(failed?.headers[Headers.errorAttempts]).toBe('1');
    expect(strict.sagaStore.size).toBe(0);
  });
});

function codecWire(body: object): WireMessage {
  return codec.encode(envelopeFor(body));
}

/** A transport whose publish fails while `fail()` says so (a crash right after the commit). */
function failingPublishes(inner: InMemoryTransport, fail: () => boolean): Transport {
  return {
    declareEndpoint: (t) => inner.declareEndpoint(t),
    publish: async (m) => {
      if (fail()) throw new Error('simulated crash before dispatch');
      return inner.publish(m);
    },
    send: (m, e) => inner.send(m, e),
    consume: (e, h, o) => inner.consume(e, h, o),
    close: () => inner.close(),
  };
}
