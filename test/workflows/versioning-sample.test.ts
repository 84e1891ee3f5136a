/**
 * Runs the three-deploy versioning recipe of samples/workflows/versioning.ts in memory: the
 * container hands out whichever class is "deployed", under the one workflow name `Checkout`.
 */
import { describe, expect, it } from 'vitest';
import {
  checkoutActivities,
  CheckoutCleaned,
  CheckoutDeprecated,
  CheckoutOriginal,
  CheckoutPatched,
} from '../../samples/workflows/versioning.js';
import { SagaTestKit } from '../../src/testing/index.js';
import { type WorkflowClass } from '../../src/index.js';

async function deployKit() {
  const deployed: { code: WorkflowClass } = { code: CheckoutOriginal };
  const kit = await SagaTestKit.start({
    name: 'versioning',
    workflows: [CheckoutOriginal],
    activities: checkoutActivities,
    configure: (container) => {
      container.bind(CheckoutOriginal).toDynamicValue(() => new deployed.code());
    },
  });
  const executed = (activity: string, order: string): number =>
    kit.transport.log.filter(
      (r) =>
        r.operation === 'send' &&
        r.message.headers['longhaul.type'] === 'longhaul.workflow.ExecuteActivity' &&
        r.message.body.toString().includes(`"activity":"${activity}"`) &&
        r.message.body.toString().includes(`"instanceId":"${order}"`),
    ).length;
  return { kit, deploy: (code: WorkflowClass) => (deployed.code = code), executed };
}

describe('changing workflow code safely (samples/workflows/versioning.ts)', () => {
  it('patch, deprecate, remove: old instances keep the old path, new ones take the new one, all complete', async () => {
    const { kit, deploy, executed } = await deployKit();
    const start = (id: string) => kit.startWorkflow(CheckoutOriginal, { id }, { id });
    await start('o-original'); // charged, waiting a day to ship

    deploy(CheckoutPatched);
    await start('o-patched');
    await kit.advance('1d');
    expect(await kit.workflows.status('o-original')).toMatchObject({
      status: 'completed',
      result: 'shipped o-original',
      history: { patches: [] },
    });
    expect(executed('checkout.SendReceipt', 'o-original')).toBe(0); // the old path
    expect(await kit.workflows.status('o-patched')).toMatchObject({
      status: 'completed',
      history: { patches: ['send-receipt'] },
    });
    expect(executed('checkout.SendReceipt', 'o-patched')).toBe(1); // the new path

    await start('o-before-deprecate'); // started on deploy 1, finishes on deploy 2
    deploy(CheckoutDeprecated);
    await start('o-deprecated');
    await kit.advance('1d');
    for (const id of ['o-before-deprecate', 'o-deprecated']) {
      expect((await kit.workflows.status(id))?.status).toBe('completed');
      expect(executed('checkout.SendReceipt', id)).toBe(1);
    }
    expect((await kit.workflows.status('o-deprecated'))?.history.patches).toEqual(['send-receipt']);

    await start('o-before-cleanup'); // started on deploy 2 (with its marker), finishes on deploy 3
    deploy(CheckoutCleaned);
    await start('o-cleaned');
    await kit.advance('1d');
    for (const id of ['o-before-cleanup', 'o-cleaned']) {
      expect(await kit.workflows.status(id)).toMatchObject({ status: 'completed', result: `shipped ${id}` });
      expect(executed('checkout.SendReceipt', id)).toBe(1);
    }
    expect((await kit.workflows.list({ status: 'parked' })).items).toEqual([]);
    expect(kit.errors()).toEqual([]);
  });

  it('without the patch, the same change parks the instance that was already past that point', async () => {
    const { kit, deploy } = await deployKit();
    await kit.startWorkflow(CheckoutOriginal, { id: 'o-1' }, { id: 'o-1' });
    deploy(CheckoutCleaned);
    await kit.advance('1d');
    expect(await kit.workflows.status('o-1')).toMatchObject({
      status: 'parked',
      parked: { position: 1, recorded: "sleep 'timer'", requested: "activity 'checkout.SendReceipt'" },
    });
  });
});
