/**
 * Workflows that outlive their code, in memory on the virtual clock: parked instances lose nothing
 * and come back by themselves, reset, idempotent signals, signals across continueAsNew, and limits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Approved, count, runs } from './fixtures.js';
import {
  BigParent,
  deployed,
  durableActivities,
  durableWorkflows,
  Evolving,
  Go,
  Growing,
  Patching,
  Inbox,
  Sneaky,
  Steps,
  TooLarge,
} from './durable-fixtures.js';
import { SagaTestKit } from '../../src/testing/index.js';
import { OperationResult } from '../../src/workflows/messages.js';
import { type Logger, type WorkflowOptions } from '../../src/index.js';
import { forgetCachedRuns } from '../../src/workflows/run-cache.js';

const logs: { level: string; message: string; fields?: unknown }[] = [];
const logger: Logger = {
  debug: () => {},
  info: (message, fields) => logs.push({ level: 'info', message, fields }),
  warn: (message, fields) => logs.push({ level: 'warn', message, fields }),
  error: (message, fields) => logs.push({ level: 'error', message, fields }),
};

const start = (workflowOptions: WorkflowOptions = {}) =>
  SagaTestKit.start({
    name: 'durable',
    workflows: durableWorkflows,
    activities: durableActivities,
    logger,
    workflowOptions: { buildId: 'test-build', ...workflowOptions },
  });

afterEach(() => {
  deployed.evolving = 'v1';
  deployed.patching = false;
  logs.length = 0;
});

/** Starts an Evolving instance on v1 (first activity done, sleeping), then deploys v2. */
async function parkedUnderV2(kit: SagaTestKit, id: string): Promise<void> {
  runs.clear();
  deployed.evolving = 'v1';
  await kit.startWorkflow(Evolving, { id, sleep: '1h' }, { id });
  expect((await kit.workflows.status(id))?.pending).toMatchObject([{ op: 'sleep' }]);
  deployed.evolving = 'v2'; // a deploy changed the code under the running instance
  forgetCachedRuns(); // a deploy restarts the process: its run cache starts empty
  await kit.workflows.signal(id, Approved, new Approved('ada')); // the next message parks it
  await kit.idle();
}

describe('parked instances lose nothing and come back (in memory)', () => {
  it('code changed under a running instance → parked with the reason; a signal and the timer are kept; rollback resumes it at the recheck interval', async () => {
    const kit = await start({ parkedRecheckInterval: '1m' });
    await parkedUnderV2(kit, 'ev-1');
    const parked = await kit.workflows.status('ev-1');
    expect(parked).toMatchObject({
      status: 'parked',
      parked: {
        kind: 'non-determinism',
        position: 1,
        recorded: "sleep 'timer'",
        requested: "activity 'Step'",
        build: 'test-build',
        checks: 0,
      },
      history: { signalsWaiting: 1 },
      builds: { all: ['test-build'] },
    });
    expect(logs.some((l) => l.message === 'workflow parked')).toBe(true);
    expect(logs.some((l) => /finished|completed/.test(l.message))).toBe(false);

    await kit.advance('1h'); // the timer fires while parked: recorded, not dropped
    const stillParked = await kit.workflows.status('ev-1');
    expect(stillParked?.status).toBe('parked');
    expect(stillParked?.pending).toEqual([]);
    expect(stillParked?.parked?.checks).toBeGreaterThan(0);
    expect(count('Step:extra:ev-1')).toBe(0);

    deployed.evolving = 'v1'; // rollback
    await kit.advance('1m'); // the recheck timer replays it with the old code again
    expect(await kit.workflows.status('ev-1')).toMatchObject({
      status: 'completed',
      result: 'approved by ada',
    });
    expect(count('Step:one:ev-1')).toBe(1);
    expect(count('Step:two:ev-1')).toBe(1);
    expect(logs.some((l) => l.message === 'workflow completed')).toBe(true);
    expect(kit.timeoutStore.size).toBe(0);
    expect(kit.errors()).toEqual([]);
  });

  it('client.resume replays at once; a parked instance also resumes on its next message', async () => {
    const kit = await start();
    await parkedUnderV2(kit, 'ev-2');
    deployed.evolving = 'v1';
    await kit.workflows.resume('ev-2');
    await kit.idle();
    expect(await kit.workflows.status('ev-2')).toMatchObject({
      status: 'running',
      pending: [{ op: 'sleep' }],
    });
    expect(kit.timeoutStore.size).toBe(1); // the sleep; the recheck timer was cancelled
    await kit.advance('1h');
    expect((await kit.workflows.status('ev-2'))?.result).toBe('approved by ada');

    await parkedUnderV2(kit, 'ev-3');
    deployed.evolving = 'v1';
    await kit.advance('1h'); // the timer is the next message
    expect((await kit.workflows.status('ev-3'))?.result).toBe('approved by ada');
    expect(count('Step:one:ev-3')).toBe(1);
  });

  it('cancel on a parked instance is honoured once code that replays runs: compensation runs', async () => {
    const kit = await start();
    await parkedUnderV2(kit, 'ev-4');
    await kit.workflows.cancel('ev-4', 'customer left');
    await kit.idle();
    expect((await kit.workflows.status('ev-4'))?.status).toBe('parked');
    expect(count('Step:undo:ev-4')).toBe(0);
    deployed.evolving = 'v1';
    await kit.workflows.resume('ev-4');
    await kit.idle();
    expect(await kit.workflows.status('ev-4')).toMatchObject({
      status: 'completed',
      result: 'compensated: undo:ev-4',
    });
  });

  it('terminate works at once on a parked instance and stops its timers', async () => {
    const kit = await start();
    await parkedUnderV2(kit, 'ev-5');
    await kit.workflows.terminate('ev-5', 'given up');
    await kit.idle();
    expect((await kit.workflows.status('ev-5'))?.status).toBe('terminated');
    expect(kit.timeoutStore.size).toBe(0);
    await expect(kit.workflows.purge({ instanceId: 'ev-5' })).resolves.toBe(1);
    expect(await kit.workflows.status('ev-5')).toBeUndefined();
  });

  it('awaiting a non-ctx promise parks the instance with a reason that names it', async () => {
    const kit = await start();
    await kit.startWorkflow(Sneaky, undefined, { id: 'sneaky' });
    await new Promise((resolve) => setTimeout(resolve, 50)); // the plain timer inside run fires
    const status = await kit.workflows.status('sneaky');
    expect(status).toMatchObject({ status: 'parked', parked: { kind: 'non-ctx-await' } });
    expect(status?.reason).toMatch(/not a ctx operation .* after activity 'Step' at position 0/);
    expect(logs.some((l) => l.message === 'workflow code called ctx after its replay suspended')).toBe(true);
    expect(count('Step:after-timeout')).toBe(0);
  });
});

describe('versioning with ctx.patched (in memory)', () => {
  it('an old instance keeps the old path, a new one takes the new path, both complete', async () => {
    const kit = await start();
    runs.clear();
    await kit.startWorkflow(Patching, 'old', { id: 'pt-old' });
    deployed.patching = true;
    await kit.startWorkflow(Patching, 'new', { id: 'pt-new' });
    for (const id of ['pt-old', 'pt-new']) await kit.workflows.signal(id, Approved, new Approved('x'));
    await kit.idle();
    expect(await kit.workflows.status('pt-old')).toMatchObject({
      status: 'completed',
      result: ['first:old'],
    });
    expect(await kit.workflows.status('pt-new')).toMatchObject({
      status: 'completed',
      result: ['first:new', 'extra:new'],
      history: { patches: ['extra-step'] },
    });
    expect(count('Step:extra:old')).toBe(0);
  });
});

describe('repair: reset, purge by id, idempotent signals (in memory)', () => {
  it('reset reruns only what follows the event; late results of the dropped part are ignored', async () => {
    const kit = await start();
    runs.clear();
    await kit.startWorkflow(Steps, 's', { id: 'steps' });
    expect((await kit.workflows.status('steps'))?.result).toEqual(['s:1', 's:2', 's:3']);
    // 0 started, 1-2 step 1, 3-4 step 2, 5-6 step 3: keep step 1, run 2 and 3 again.
    await kit.workflows.reset('steps', { afterEvent: 2, reason: 'step 2 used a bad rate' });
    await kit.idle();
    const status = await kit.workflows.status('steps');
    expect(status).toMatchObject({ status: 'completed', result: ['s:1', 's:2', 's:3'], resets: 1 });
    expect([count('Step:s:1'), count('Step:s:2'), count('Step:s:3')]).toEqual([1, 2, 2]);
    await expect(kit.workflows.reset('steps', { afterEvent: 99, reason: 'x' })).rejects.toThrow(
      /afterEvent must be an event index from 0 to/,
    );
  });

  it('reset of a parked instance to before the divergence lets the new code run from there', async () => {
    const kit = await start();
    await parkedUnderV2(kit, 'ev-6');
    await kit.workflows.reset('ev-6', { afterEvent: 2, reason: 'take the v2 path' }); // after step one
    await kit.idle();
    expect(await kit.workflows.status('ev-6')).toMatchObject({
      status: 'running',
      pending: [{ op: 'sleep' }],
    });
    expect(count('Step:extra:ev-6')).toBe(1);
    expect(count('Step:one:ev-6')).toBe(1);
    // A result for the sleep's position from before the reset (epoch 0) is ignored.
    await kit.when(new OperationResult('ev-6', 0, 2, true, null));
    expect((await kit.workflows.status('ev-6'))?.pending).toMatchObject([{ op: 'sleep' }]);
    await kit.advance('1h');
    expect((await kit.workflows.status('ev-6'))?.result).toBe('approved by ada'); // the signal survived the reset
  });

  it('a signal with a signalId is recorded once however often it is sent', async () => {
    const kit = await start();
    await kit.startWorkflow(Inbox, [], { id: 'inbox' });
    for (let i = 0; i < 3; i++)
      await kit.workflows.signal('inbox', Approved, new Approved('once'), { signalId: 'http-1' });
    await kit.idle();
    const status = await kit.workflows.status('inbox');
    expect(status?.history.signalsWaiting).toBe(0);
    expect(status?.pending).toMatchObject([{ op: 'event', name: 'wf.Go' }]); // consumed once, no duplicate buffered
  });

  it('signals not yet consumed carry over continueAsNew into the next generation', async () => {
    const kit = await start();
    await kit.startWorkflow(Inbox, [], { id: 'carry' });
    await kit.workflows.signal('carry', Approved, new Approved('a'));
    await kit.idle();
    await kit.workflows.signal('carry', Approved, new Approved('b')); // buffered: it waits for Go
    await kit.workflows.signal('carry', Approved, new Approved('c'));
    await kit.idle();
    expect((await kit.workflows.status('carry'))?.history.signalsWaiting).toBe(2);
    await kit.workflows.signal('carry', Go, new Go());
    await kit.idle();
    expect(await kit.workflows.status('carry')).toMatchObject({
      status: 'completed',
      result: ['a', 'b', 'c'],
      generation: 2,
    });
  });
});

describe('limits instead of silent hangs (in memory)', () => {
  it('a 2 MB activity result fails that operation with payload-too-large, and the workflow catches it', async () => {
    const kit = await start();
    await kit.startWorkflow(TooLarge, 2, { id: 'big' });
    expect((await kit.workflows.status('big'))?.result).toMatch(
      /^caught payload-too-large: The result of activity 'Huge'/,
    );
    expect(kit.errors()).toEqual([]);
    await expect(
      kit.workflows.start(TooLarge, 'x'.repeat(2 * 1024 * 1024) as unknown as number),
    ).rejects.toThrow(/over the message limit/);
    await expect(
      kit.workflows.signal('big', Approved, new Approved('y'.repeat(2 * 1024 * 1024))),
    ).rejects.toMatchObject({ code: 'payload-too-large' });
  });

  it('a child result and an activity input over the limit fail their operations, and the workflow catches both', async () => {
    const kit = await start();
    await kit.startWorkflow(BigParent, 2, { id: 'big-parent' });
    expect((await kit.workflows.status('big-parent'))?.result).toEqual([
      'payload-too-large: The child workflow result enco',
      "payload-too-large: The input of activity 'Step' e",
    ]);
    expect(kit.errors()).toEqual([]);
  });

  it('ctx.info suggests continueAsNew at the threshold with a warning; past the limit the instance fails', async () => {
    const kit = await start({ history: { suggestContinueAsNew: { events: 10 }, limit: { events: 20 } } });
    await kit.startWorkflow(Growing, 3, { id: 'small' });
    const small = (await kit.workflows.status('small'))?.result as {
      suggestedAt?: number;
      length: number;
      bytes: number;
    };
    expect(small.suggestedAt).toBeUndefined();
    expect(small.length).toBe(7);
    expect(small.bytes).toBeGreaterThan(7 * 40);
    await kit.startWorkflow(Growing, 6, { id: 'medium' });
    expect((await kit.workflows.status('medium'))?.result).toMatchObject({ suggestedAt: 4 }); // 11 events after step 4
    expect(
      logs.filter((l) => l.message === 'workflow history is large: continueAsNew suggested'),
    ).toHaveLength(1);
    await kit.startWorkflow(Growing, 50, { id: 'large' });
    const large = await kit.workflows.status('large');
    expect(large).toMatchObject({ status: 'failed', failure: { code: 'history-too-large' } });
    expect(large?.failure?.message).toMatch(/over the limit of 20 events/);
    expect(large?.history.events).toBeLessThanOrEqual(22);
  });

  it('invalid limits fail at start naming the field', async () => {
    await expect(
      start({ history: { suggestContinueAsNew: { events: 100 }, limit: { events: 50 } } }),
    ).rejects.toThrow(/workflowOptions.history: suggestContinueAsNew must be below limit/);
    await expect(start({ parkedRecheckInterval: '0s' })).rejects.toThrow(
      /workflowOptions.parkedRecheckInterval/,
    );
  });
});
