import { afterEach, describe, expect, it } from 'vitest';
import { OperationFailedError } from '../../src/index.js';
import { WorkflowTestKit } from '../../src/testing/index.js';
import {
  Approval,
  calls,
  charge,
  Charging,
  Confirmed,
  Failing,
  Greet,
  Greeter,
  Greeting,
  Napper,
  kitActivities,
  kitWorkflows,
  Patient,
  reserve,
  ship,
  Shipping,
  variant,
} from './kit-fixtures.js';

const DAY = 86_400_000;
let kit: WorkflowTestKit | undefined;

afterEach(async () => {
  await kit?.stop();
  kit = undefined;
  variant.shipping = 'v1';
  for (const key of Object.keys(calls) as (keyof typeof calls)[]) calls[key] = 0;
});

async function startKit(options: Partial<Parameters<typeof WorkflowTestKit.start>[0]> = {}) {
  kit = await WorkflowTestKit.start({ workflows: kitWorkflows, activities: kitActivities, ...options });
  return kit;
}

describe('WorkflowTestKit', () => {
  it('skips a 3-day waitForEvent timeout in milliseconds of wall time', async () => {
    const k = await startKit();
    const startedAt = k.clock.now().getTime();
    const wall = performance.now();
    const approval = await k.start(Approval, undefined, { id: 'approval-1' });
    expect((await approval.status()).pending).toMatchObject([{ op: 'event', name: 'kit.Confirmed' }]);

    expect(await approval.result()).toBe(`timed out after ${3 * DAY} ms`);
    const elapsed = performance.now() - wall;
    expect(k.clock.now().getTime() - startedAt).toBe(3 * DAY);
    expect(elapsed).toBeLessThan(2_000);
  });

  it('a signal before the timeout wins, and time moves only as far as the test says', async () => {
    const k = await startKit();
    const approval = await k.start(Approval, undefined);
    await k.advance('2d');
    await approval.signal(Confirmed, new Confirmed('ada'));
    expect(await approval.result()).toBe(`confirmed by ada after ${2 * DAY} ms`);
    expect((await approval.status()).status).toBe('completed');
  });

  it('an activity double that fails once succeeds on the retry, its 10-minute backoff skipped', async () => {
    let attempts = 0;
    const k = await startKit({
      doubles: [
        [
          charge,
          (amount: number) => {
            if (++attempts === 1) throw new Error('payment service unavailable');
            return { receipt: `double-${amount}`, at: new Date(0) };
          },
        ],
      ],
    });
    const t0 = k.clock.now().getTime();
    expect(await k.execute(Charging, 42)).toBe('double-42');
    const seen = k.activityCalls(charge);
    expect(seen.map((c) => c.attempt)).toEqual([1, 2]);
    expect(seen.map((c) => c.at.getTime() - t0)).toEqual([0, 10 * 60_000]);
    expect(calls.charge).toBe(0); // the real activity never ran
  });

  it('a double that keeps failing exhausts the policy and the failure reaches the caller', async () => {
    const k = await startKit({
      doubles: [
        [
          charge,
          () => {
            throw new Error('declined');
          },
        ],
      ],
    });
    const error = await k.execute(Charging, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperationFailedError);
    expect((error as OperationFailedError).failure.message).toContain('declined');
    expect(k.activityCalls(charge).map((c) => c.attempt)).toEqual([1, 2, 3]);
  });

  it('replaces a real activity by reference mid-test; the others stay real', async () => {
    const k = await startKit();
    const shipping = await k.start(Shipping, { sku: 'book', amount: 12 });
    k.mockActivity(ship, (reservation) => `fake shipping of ${reservation}`);
    await shipping.signal(Confirmed, new Confirmed('bob'));
    expect(await shipping.result()).toBe(
      'fake shipping of reservation:book (r-12 at 2026-02-03T04:05:06.000Z) for bob',
    );
    expect(calls).toMatchObject({ reserve: 1, charge: 1, ship: 0 });
    expect(k.activityCalls(reserve)).toMatchObject([{ input: 'book', attempt: 1 }]);
  });

  it('refuses to mock an activity the endpoint does not know, naming it', async () => {
    const k = await startKit({ activities: [reserve] });
    expect(() => k.mockActivity(ship, () => 'x')).toThrow(
      /'kit.Ship' was not given to WorkflowTestKit.start/,
    );
  });

  it('runs a class activity resolved from the container with its dependency', async () => {
    const k = await startKit({
      activities: [Greet],
      configure: (container) => container.bind(Greeting).toConstantValue(new Greeting('bonjour')),
    });
    const greeter = await k.start(Greeter, 'ada', { id: 'greeter' });
    expect((await greeter.status()).pending).toMatchObject([{ op: 'sleep' }]);
    expect(await greeter.result()).toBe('bonjour ada');
    expect(k.activityCalls(Greet)).toHaveLength(1);
  });

  it('says what an instance is stuck on instead of waiting forever', async () => {
    const k = await startKit();
    const patient = await k.start(Patient, undefined);
    await expect(patient.result()).rejects.toThrow(
      /waits on event 'kit.Confirmed' \(position 0\), and no timer is scheduled/,
    );
    const napper = await k.start(Napper, undefined);
    await expect(napper.result({ skipTime: false })).rejects.toMatchObject({ code: 'stuck' });
    await expect(napper.result({ timeout: '6d' })).rejects.toThrow(/past the timeout/);
    expect(await napper.result()).toBe('rested');
  });

  it('a workflow that fails rejects result() with its failure; status and history say so', async () => {
    const k = await startKit();
    const failing = await k.start(Failing, undefined, { id: 'failing' });
    await expect(failing.result()).rejects.toThrow(/the order is invalid/);
    expect(await failing.status()).toMatchObject({
      status: 'failed',
      failure: { message: 'the order is invalid' },
    });
    const history = await failing.history();
    expect(history).toMatchObject({ instanceId: 'failing', workflowType: 'kit.Failing', status: 'failed' });
    expect(history.events.map((e) => e.e)).toEqual(['started', 'scheduled', 'completed']);
  });

  it('replays what it recorded against the same code, and against changed code finds the change', async () => {
    const k = await startKit();
    const shipping = await k.start(Shipping, { sku: 'lamp', amount: 30 }, { id: 'ship-1' });
    const replayed = await shipping.replay();
    expect(replayed).toMatchObject({ ok: true, ending: 'waiting' });
    variant.shipping = 'reordered';
    const changed = await shipping.replay();
    expect(changed).toMatchObject({ ok: false, divergence: { kind: 'mismatch', seq: 0 } });
  });
});
