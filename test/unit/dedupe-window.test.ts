/**
 * The inbox is a dedupe window in time: handled ids are kept at least `sagaOptions.dedupeWindow`,
 * at most `sagaOptions.inboxSize` per instance; the cap evicting an id still inside the window is
 * logged and counted. (On FerretDB: test/integration/mongodb/commit-path.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  Event,
  type Logger,
  Saga,
  type SagaContext,
  StartedBy,
} from '../../src/index.js';
import { startEndpoint } from '../support/endpoint.js';

@Event('dw.Tick')
class Tick {
  constructor(readonly key: string) {}
}

@Saga('dw.Counter')
class Counter {
  @StartedBy(Tick, { correlateBy: (m) => m.key })
  tick(_msg: Tick, ctx: SagaContext<{ n: number }>): void {
    ctx.state.n = (ctx.state.n ?? 0) + 1;
  }
}

function capturing(): Logger & { warnings: { message: string; fields?: Record<string, unknown> }[] } {
  const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
  return {
    debug: () => {},
    info: () => {},
    error: () => {},
    warn: (message, fields) => warnings.push({ message, fields }),
    warnings,
  };
}

describe('the dedupe window', () => {
  it('a first message redelivered after 300 others changes nothing', async () => {
    const t = await startEndpoint({ sagas: [Counter] });
    await t.deliver(new Tick('k'), { id: 'first' });
    for (let i = 0; i < 300; i++) await t.deliver(new Tick('k'));
    await t.deliver(new Tick('k'), { id: 'first' });
    const record = await t.sagaStore.findByCorrelation('dw.Counter', 'k');
    expect(record?.state).toEqual({ n: 301 });
    expect(record?.inbox).toHaveLength(301);
    expect(t.handled.at(-1)?.sagas[0]?.result).toBe('duplicate');
    expect(t.endpoint.counters.inboxEvictedInWindow).toBe(0);
  });

  it('drops ids older than the window at the next commit; a copy older than the window is handled again', async () => {
    const t = await startEndpoint({ sagas: [Counter], sagaOptions: { dedupeWindow: '2h' } });
    await t.deliver(new Tick('k'), { id: 'a' });
    await t.clock.advance('1h');
    await t.deliver(new Tick('k'), { id: 'b' });
    await t.clock.advance('90m');
    await t.deliver(new Tick('k'), { id: 'c' });
    const record = await t.sagaStore.findByCorrelation('dw.Counter', 'k');
    expect(record?.inbox.map((e) => e.id)).toEqual(['b', 'c']);
    expect(record?.inbox[1]?.at).toEqual(t.clock.now());
    await t.deliver(new Tick('k'), { id: 'b' }); // 90 min old: inside the window
    expect((await t.sagaStore.findByCorrelation('dw.Counter', 'k'))?.state).toEqual({ n: 3 });
    expect(t.endpoint.counters.inboxEvictedInWindow).toBe(0);
  });

  it('the cap evicting ids still inside the window is logged and counted', async () => {
    const logger = capturing();
    const t = await startEndpoint({ sagas: [Counter], logger, sagaOptions: { inboxSize: 5 } });
    for (let i = 0; i < 7; i++) await t.deliver(new Tick('k'), { id: `m-${i}` });
    const record = await t.sagaStore.findByCorrelation('dw.Counter', 'k');
    expect(record?.inbox.map((e) => e.id)).toEqual(['m-2', 'm-3', 'm-4', 'm-5', 'm-6']);
    expect(t.endpoint.counters.inboxEvictedInWindow).toBe(2);
    const evictions = logger.warnings.filter((w) => w.message.includes('inbox cap evicted'));
    expect(evictions).toHaveLength(2);
    expect(evictions[0]?.message).toMatch(/raise sagaOptions.inboxSize/);
    expect(evictions[0]?.fields).toMatchObject({ saga: 'dw.Counter', evicted: 1, inboxSize: 5 });
  });

  it('a window shorter than the retry paths fails at start, naming the field', async () => {
    await expect(
      startEndpoint({
        sagas: [Counter],
        sagaOptions: { dedupeWindow: '1m' },
        recoverability: { delays: ['10m'] },
      }),
    ).rejects.toThrow(ConfigurationError);
    await expect(
      startEndpoint({
        sagas: [Counter],
        sagaOptions: { dedupeWindow: '1m' },
        recoverability: { delays: ['10m'] },
      }),
    ).rejects.toThrow(/sagaOptions.dedupeWindow: .*shorter than the retry paths/);
  });
});
