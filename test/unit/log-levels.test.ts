import { describe, expect, it } from 'vitest';
import {
  ConcurrencyError,
  Event,
  Handles,
  type Logger,
  Saga,
  type SagaContext,
  StartedBy,
} from '../../src/index.js';
import { startEndpoint } from '../support/endpoint.js';

@Event('loglevels.Opened')
class Opened {
  constructor(readonly id: string) {}
}
@Event('loglevels.Bumped')
class Bumped {
  constructor(readonly id: string) {}
}

@Saga('LogLevels')
class Counter {
  @StartedBy(Opened, { correlateBy: (m) => m.id })
  opened(_m: Opened, ctx: SagaContext<{ n: number }>): void {
    ctx.state = { n: 0 };
  }

  @Handles(Bumped, { correlateBy: (m) => m.id })
  bumped(_m: Bumped, ctx: SagaContext<{ n: number }>): void {
    ctx.state.n++;
  }
}

interface Line {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields?: Record<string, unknown>;
}

function recording(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: Line['level']) => (message: string, fields?: Record<string, unknown>) =>
    void lines.push({ level, message, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Makes the next `n` commits lose, as a concurrent writer would make them. */
function loseCommits(store: { commit: (...args: never[]) => Promise<void> }, n: number): void {
  const original = store.commit.bind(store);
  let left = n;
  store.commit = (...args: never[]) =>
    left-- > 0
      ? Promise.reject(new ConcurrencyError('LogLevels x: expected version 1, found another (or none)'))
      : original(...args);
}

describe('log levels of ordinary events', () => {
  it('a version conflict that a retry resolves is logged at debug, never as a failure', async () => {
    const logger = recording();
    const t = await startEndpoint({
      sagas: [Counter],
      logger,
      sagaOptions: { conflictRetries: 1 },
      recoverability: { immediateRetries: 2, delays: ['1s'] },
    });
    await t.deliver(new Opened('a'));
    // Two lost commits exhaust the in-handler rerun; the immediate retry then wins.
    loseCommits(t.sagaStore, 3);
    await t.deliver(new Bumped('a'));
    expect((await t.sagaStore.findByCorrelation('LogLevels', 'a'))?.state).toEqual({ n: 1 });
    expect(logger.lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
    expect(logger.lines.some((l) => l.level === 'debug' && /conflict/.test(l.message))).toBe(true);
  });

  it('is a WARN naming the conflict once the conflict retries are exhausted', async () => {
    const logger = recording();
    const t = await startEndpoint({
      sagas: [Counter],
      logger,
      sagaOptions: { conflictRetries: 1 },
      recoverability: { immediateRetries: 1, delays: [] },
    });
    await t.deliver(new Opened('b'));
    loseCommits(t.sagaStore, 100);
    await t.deliver(new Bumped('b'));
    const warnings = logger.lines.filter((l) => l.level === 'warn');
    expect(warnings.map((l) => l.message)).toEqual(['version conflict retries exhausted']);
    expect(warnings[0]?.fields).toMatchObject({ type: 'loglevels.Bumped', next: 'error-queue' });
  });

  it('a duplicate delivery is logged at debug with the message id, the saga instance and a count', async () => {
    const logger = recording();
    const t = await startEndpoint({ sagas: [Counter], logger });
    await t.deliver(new Opened('c'));
    const wire = await t.deliver(new Bumped('c'));
    await t.deliver(new Bumped('c'), { id: wire.messageId });
    await t.deliver(new Bumped('c'), { id: wire.messageId });
    const duplicates = logger.lines.filter((l) => /duplicate/.test(l.message));
    expect(duplicates.map((l) => l.level)).toEqual(['debug', 'debug']);
    expect(duplicates[1]?.fields).toMatchObject({
      saga: 'LogLevels',
      sagaId: expect.any(String),
      messageId: wire.messageId,
      duplicates: 2,
    });
    expect((await t.sagaStore.findByCorrelation('LogLevels', 'c'))?.state).toEqual({ n: 1 });
  });
});
