import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HistoryFormatError, parseHistory, replayHistory, type WorkflowHistory } from '../../src/index.js';
import { WorkflowTestKit } from '../../src/testing/index.js';
import {
  Approval,
  Batch,
  Looping,
  calls,
  charge,
  reserve,
  Confirmed,
  Failing,
  kitActivities,
  kitWorkflows,
  Shipping,
  variant,
} from './kit-fixtures.js';

let kit: WorkflowTestKit;

beforeEach(async () => {
  kit = await WorkflowTestKit.start({ workflows: kitWorkflows, activities: kitActivities });
});
afterEach(async () => {
  await kit.stop();
  variant.shipping = 'v1';
});

/** Runs Shipping with the v1 code and returns its history as a file would hold it. */
async function recorded(options: { confirm?: boolean } = {}): Promise<string> {
  variant.shipping = 'v1';
  const shipping = await kit.start(Shipping, { sku: 'desk', amount: 250 }, { id: `ship-${Math.random()}` });
  if (options.confirm) {
    await shipping.signal(Confirmed, new Confirmed('ada'));
    expect((await shipping.status()).status).toBe('completed');
  }
  return JSON.stringify(await shipping.history(), null, 2);
}

function resetCalls(): void {
  for (const key of Object.keys(calls) as (keyof typeof calls)[]) calls[key] = 0;
}

describe('replayHistory', () => {
  it('a stored history replayed against the same code is clean and runs no activity', async () => {
    const file = await recorded();
    resetCalls();
    const result = await replayHistory(Shipping, file);
    expect(result).toMatchObject({
      ok: true,
      ending: 'waiting',
      recordedStatus: 'running',
      events: { replayed: 6, total: 6 },
      operationsReplayed: 3,
      newOperations: [],
      waitingOn: [{ seq: 2, op: 'event', name: 'kit.Confirmed' }],
    });
    expect(result.summary).toMatch(
      /^ok .*replays all 6 events; the code waits on waitForEvent 'kit.Confirmed'/,
    );
    expect(calls).toEqual({ reserve: 0, charge: 0, ship: 0, notify: 0 });
  });

  it('a completed history with Dates in its values round-trips through JSON and replays to the same result', async () => {
    const file = await recorded({ confirm: true });
    const history = parseHistory(file);
    expect(history.result).toBe('shipped reservation:desk (r-250 at 2026-02-03T04:05:06.000Z) for ada');
    const result = await replayHistory([Approval, Shipping], file);
    expect(result).toMatchObject({ ok: true, ending: 'completed', notes: [] });
    expect(result.result).toBe(history.result); // the Date in the activity result came back as a Date
  });

  it('against reordered code reports the first divergence with its position', async () => {
    const file = await recorded();
    variant.shipping = 'reordered';
    const result = await replayHistory(Shipping, file);
    expect(result.ok).toBe(false);
    expect(result.divergence).toMatchObject({
      kind: 'mismatch',
      seq: 0,
      historyIndex: 1,
      recorded: "activity 'kit.Reserve'",
      requested: "activity 'kit.Charge'",
    });
    expect(result.events.replayed).toBe(1);
    expect(result.summary).toContain('DIVERGED');
    expect(result.summary).toContain("history holds: activity 'kit.Reserve'");
    expect(result.summary).toContain("code asks for: activity 'kit.Charge'");
  });

  it('code that ends before an operation the history holds: missing, at that position', async () => {
    const file = await recorded({ confirm: true });
    variant.shipping = 'shorter';
    const result = await replayHistory(Shipping, file);
    expect(result.divergence).toMatchObject({
      kind: 'missing',
      seq: 3,
      recorded: "activity 'kit.Ship'",
      requested: 'nothing: the code completed first',
    });
    expect(parseHistory(file).events[result.divergence!.historyIndex]).toMatchObject({
      e: 'scheduled',
      seq: 3,
    });
  });

  it('code that completes where a running instance waits: ending', async () => {
    const file = await recorded();
    variant.shipping = 'no-await';
    const result = await replayHistory(Shipping, file);
    expect(result.divergence).toMatchObject({ kind: 'ending', seq: 3, historyIndex: 6 });
    expect(result.divergence?.recorded).toContain("waiting on waitForEvent 'kit.Confirmed' (position 2)");
    expect(result.divergence?.requested).toBe('the code completed');
  });

  it('code that adds an operation after the history ends is clean and lists what it would schedule, without running it', async () => {
    const file = await recorded({ confirm: true });
    variant.shipping = 'extended';
    resetCalls();
    const result = await replayHistory(Shipping, file);
    expect(result).toMatchObject({
      ok: true,
      ending: 'waiting',
      newOperations: [{ seq: 4, op: 'activity', name: 'kit.Notify', input: 'shipped reservation:desk' }],
      notes: ['the history ends completed, but the code now waits instead'],
    });
    expect(result.summary).toContain(
      "new operations the code would now schedule: activity 'kit.Notify' at position 4",
    );
    expect(calls.notify).toBe(0);
  });

  it('a run that awaits a non-ctx promise is reported, with the position it had reached', async () => {
    const file = await recorded();
    variant.shipping = 'fetching';
    const result = await replayHistory(Shipping, file);
    expect(result.divergence).toMatchObject({
      kind: 'non-ctx-await',
      seq: 0,
      recorded: "activity 'kit.Reserve'",
    });
    // Seen either as a run waiting on no ctx operation, or, once the timer fired, as a late ctx call.
    expect(result.divergence?.requested).toMatch(
      /^(nothing: it waits on no ctx operation|ctx\.activity 'kit\.Reserve' after the replay had suspended)$/,
    );
  });

  it('a ctx call that comes after the replay suspended is reported too', async () => {
    const history = JSON.parse(await recorded()) as WorkflowHistory;
    let late = false;
    const Late = class {
      async run(ctx: Parameters<Shipping['run']>[0], input: { sku: string; amount: number }) {
        await ctx.activity(reserve, input.sku);
        await ctx.activity(charge, input.amount);
        const pending = ctx.waitForEvent(Confirmed, { timeout: '3d' }); // pending: the run looks suspended
        void pending;
        await new Promise((resolve) => setTimeout(resolve, 1));
        late = true;
        return ctx.uuid();
      }
    };
    Object.defineProperty(Late, Symbol.for('longhaul.workflow'), { value: 'kit.Shipping' });
    const result = await replayHistory(Late, history, { settleTimeMs: 50 });
    expect(late).toBe(true);
    expect(result.divergence).toMatchObject({
      kind: 'non-ctx-await',
      requested: 'ctx.uuid() after the replay had suspended',
    });
  });

  it('a failed history replays as failed; an unknown type is reported, not thrown', async () => {
    const failing = await kit.start(Failing, undefined, { id: 'failing' });
    await expect(failing.result()).rejects.toThrow();
    const history = await failing.history();
    expect(await replayHistory(Failing, history)).toMatchObject({
      ok: true,
      ending: 'failed',
      failure: { message: 'the order is invalid' },
    });
    expect(await replayHistory(Approval, history)).toMatchObject({
      ok: false,
      divergence: { kind: 'unknown-workflow', recorded: "workflow type 'kit.Failing'" },
    });
  });
});

describe('replayHistory over children, fan-out and generations', () => {
  it('a parent waiting on an activity and a child together replays, and its child’s own history too', async () => {
    const batch = await kit.start(Batch, undefined, { id: 'batch' });
    const parent = await batch.history();
    expect(parent.events.filter((e) => e.e === 'scheduled').map((e) => e.op)).toEqual(['activity', 'child']);
    expect(await replayHistory(kitWorkflows, parent)).toMatchObject({
      ok: true,
      ending: 'waiting',
      waitingOn: [{ seq: 1, op: 'child', name: 'kit.Approval' }],
    });
    expect(await batch.result()).toBe('5: timed out after 259200000 ms');
    expect(await replayHistory(kitWorkflows, await batch.history())).toMatchObject({
      ok: true,
      ending: 'completed',
    });
    const childId = parent.events.find((e) => e.e === 'scheduled' && e.op === 'child') as { childId: string };
    const child = await kit.client.history(childId.childId);
    expect(await replayHistory(kitWorkflows, child!)).toMatchObject({
      ok: true,
      workflowType: 'kit.Approval',
    });
  });

  it('exports the current generation after continueAsNew, with its input, and it replays', async () => {
    const looping = await kit.start(Looping, 0, { id: 'looping' });
    await kit.advance('1h');
    const second = await looping.history();
    expect(second).toMatchObject({ generation: 1, input: 1, status: 'running' });
    expect(await replayHistory(Looping, second)).toMatchObject({
      ok: true,
      ending: 'waiting',
      operationsReplayed: 1,
    });
    expect(await looping.result()).toBe('done after round 2');
    const last = await looping.history();
    expect(last).toMatchObject({ generation: 2, status: 'completed' });
    expect(await replayHistory(Looping, last)).toMatchObject({
      ok: true,
      ending: 'completed',
      result: 'done after round 2',
    });
  });

  it('client.history of an unknown instance is undefined', async () => {
    expect(await kit.client.history('nobody')).toBeUndefined();
  });
});

describe('history export format', () => {
  it('is versioned plain JSON: ISO dates, tagged Dates in values, and round-trips', async () => {
    const file = await recorded({ confirm: true });
    const history = JSON.parse(file) as WorkflowHistory;
    expect(history.format).toBe('longhaul.workflow-history/1');
    expect(history.events[0]).toEqual({
      e: 'started',
      at: '2026-01-01T00:00:00.000Z',
      generation: 0,
      build: expect.any(String), // the code version that wrote it
    });
    expect(history.events.find((e) => e.e === 'completed' && e.seq === 1)).toMatchObject({
      value: { receipt: 'r-250', at: { $date: '2026-02-03T04:05:06.000Z' } },
    });
    expect(JSON.stringify(parseHistory(JSON.parse(file)), null, 2)).toBe(file);
  });

  it.each([
    [
      (h: any) => (h.format = 'longhaul.workflow-history/9'),
      /format: expected 'longhaul.workflow-history\/1'.*another version/,
    ],
    [(h: any) => delete h.instanceId, /instanceId: missing/],
    [(h: any) => (h.status = 'sleeping'), /status: expected one of running, completed/],
    [
      (h: any) => (h.events[1].seq = '1'),
      /events\[1\]\.seq: expected a non-negative integer, got the string "1"/,
    ],
    [(h: any) => (h.events[2].at = 'yesterday'), /events\[2\]\.at: expected an ISO date string/],
    [(h: any) => (h.events[3] = { e: 'teleported' }), /events\[3\]\.e: unknown event kind "teleported"/],
    [
      (h: any) => (h.events[2].value = JSON.parse('{"__proto__": {"x": 1}}')),
      /events\[2\]\.value: .*forbidden key/,
    ],
    [(h: any) => h.events.shift(), /events\[0\]\.e: a history begins with a 'started' event/],
  ])('rejects a bad history naming the field (%#)', async (spoil, message) => {
    const history = JSON.parse(await recorded()) as Record<string, unknown>;
    spoil(history);
    expect(() => parseHistory(history)).toThrow(HistoryFormatError);
    expect(() => parseHistory(JSON.stringify(history))).toThrow(message);
    await expect(replayHistory(Shipping, JSON.stringify(history))).rejects.toMatchObject({
      code: 'invalid-history',
    });
  });

  it('rejects text that is not JSON', () => {
    expect(() => parseHistory('{"format": ')).toThrow(/\(json\)/);
  });
});
