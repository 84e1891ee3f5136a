/**
 * Replay tests of the versioning recipe (samples/workflows/versioning.ts): histories recorded with
 * one deploy's code, replayed against the others, patch markers included.
 */
import { describe, expect, it } from 'vitest';
import {
  checkoutActivities,
  CheckoutCleaned,
  CheckoutDeprecated,
  CheckoutOriginal,
  CheckoutPatched,
} from '../../samples/workflows/versioning.js';
import { parseHistory, replayHistory, type WorkflowClass, type WorkflowHistory } from '../../src/index.js';
import { WorkflowTestKit } from '../../src/testing/index.js';

/** The history of an order charged by `code` and now waiting a day to ship, as a file holds it. */
async function waitingToShip(code: WorkflowClass): Promise<string> {
  const kit = await WorkflowTestKit.start({
    workflows: [code],
    activities: checkoutActivities,
    workflowOptions: { buildId: `build-of-${code.name}` },
  });
  try {
    const order = await kit.start(code, { id: 'o-1' }, { id: 'o-1' });
    expect((await order.status()).pending).toMatchObject([{ op: 'sleep' }]);
    return JSON.stringify(await order.history());
  } finally {
    await kit.stop();
  }
}

describe('replay tests across the versioning recipe', () => {
  it('a history from before the patch replays against the patched code (old path), not against the cleaned-up code', async () => {
    const old = await waitingToShip(CheckoutOriginal);
    expect(await replayHistory(CheckoutPatched, old)).toMatchObject({
      ok: true,
      ending: 'waiting',
      newOperations: [],
    });
    expect((await replayHistory(CheckoutCleaned, old)).divergence).toMatchObject({
      kind: 'mismatch',
      seq: 1,
      historyIndex: 3,
      recorded: 'sleep',
      requested: "activity 'checkout.SendReceipt'",
    });
  });

  it('a history with the patch marker replays against every later deploy, and diverges against the original', async () => {
    const patched = await waitingToShip(CheckoutPatched);
    const history = parseHistory(patched) as WorkflowHistory;
    expect(history.events).toContainEqual(
      expect.objectContaining({
        e: 'marker',
        patch: 'send-receipt',
        seq: 1,
        build: 'build-of-CheckoutPatched',
      }),
    );
    for (const code of [CheckoutPatched, CheckoutDeprecated, CheckoutCleaned]) {
      expect(await replayHistory(code, patched), code.name).toMatchObject({ ok: true, ending: 'waiting' });
    }
    expect((await replayHistory(CheckoutOriginal, patched)).divergence).toMatchObject({
      kind: 'mismatch',
      seq: 1,
      recorded: "activity 'checkout.SendReceipt'",
      requested: 'sleep',
    });
  });

  it('in the kit: a rollback parks an instance the replay test flagged; redeploying the patch and resume completes it', async () => {
    const kit = await WorkflowTestKit.start({ workflows: [CheckoutPatched], activities: checkoutActivities });
    try {
      const order = await kit.start(CheckoutPatched, { id: 'o-2' }, { id: 'o-2' });
      expect((await kit.replayHistory(await order.history())).ok).toBe(true);
      kit.redeploy(CheckoutOriginal); // the rollback
      const check = await kit.replayHistory(await order.history());
      expect(check.divergence).toMatchObject({ kind: 'mismatch', seq: 1 });

      await kit.advance('1d'); // the timer fires: the original code replays the history and parks
      const parked = await order.status();
      expect(parked.status).toBe('parked');
      expect(parked.reason).toContain('History position 1 holds');
      await expect(order.result()).rejects.toThrow(/History position 1 holds/);
      const parkedHistory = parseHistory(JSON.stringify(await order.history()));
      expect(parkedHistory).toMatchObject({
        status: 'parked',
        parked: { kind: 'non-determinism', position: 1 },
      });
      expect(await replayHistory(CheckoutPatched, parkedHistory)).toMatchObject({
        ok: true,
        recordedStatus: 'parked',
      });
      expect((await replayHistory(CheckoutOriginal, parkedHistory)).divergence).toMatchObject({ seq: 1 });

      kit.redeploy(CheckoutPatched);
      await order.resume();
      expect(await order.result()).toBe('shipped o-2');
      expect(kit.activityCalls(checkoutActivities[0]!)).toHaveLength(1); // charged once
      expect(() => kit.redeploy(CheckoutCleaned, class NotAWorkflow {} as WorkflowClass)).toThrow(
        /not decorated/,
      );
    } finally {
      await kit.stop();
    }
  });
});
