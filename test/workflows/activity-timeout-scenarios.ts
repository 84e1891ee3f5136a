/**
 * The activity timeout, heartbeat and cancellation tests, run by the in-memory and the
 * real-services files on their own backends. A workflow endpoint (`wf`) sends its activities to a
 * separate activity endpoint (`act`), which a test may leave stopped (a dead worker).
 */
import { describe, expect, it } from 'vitest';
import { Endpoint, silentLogger, type Transport, type WorkflowClient } from '../../src/index.js';
import { type WireMessage } from '../../src/messages/codec.js';
import { type SagaStore } from '../../src/persistence/saga-store.js';
import { type TimeoutStore } from '../../src/timeouts/timeout-store.js';
import { count, runs } from './fixtures.js';
import {
  CancelledActivity,
  CancelledBeating,
  OutOfAttempts,
  timeoutActivities,
  timeoutWorkflows,
  WithDeadline,
  WithHeartbeat,
} from './activity-fixtures.js';

/** One backend per test: a transport and stores, and how to remove them. */
export interface Backend {
  readonly transport: Transport;
  readonly sagaStore: SagaStore;
  readonly timeoutStore: TimeoutStore;
  /** Called after the endpoints stopped. */
  cleanup(): Promise<void>;
}

/**
 * @param unitMs the base duration of the timeouts (the services take more time per message under
 * load, and an attempt waiting in the queue past its durable deadline would change the story)
 */
export function activityTimeoutTests(
  title: string,
  backend: () => Backend,
  waitMs: number,
  unitMs: number,
): void {
  const ms = (factor: number) => `${factor * unitMs}ms`;
  async function setup(startWorker = true, dropCancels = false) {
    const b = backend();
    // Dropping the CancelActivity messages stands for a worker in another process than the one
    // the cancel reaches: it must learn the cancellation from its heartbeats.
    const transport: Transport = dropCancels
      ? new Proxy(b.transport, {
          get(target, prop, receiver) {
            const value: unknown = Reflect.get(target, prop, receiver);
            if (prop !== 'send') return typeof value === 'function' ? value.bind(target) : value;
            return async (message: WireMessage, endpoint: string) => {
              if (message.headers['longhaul.type'] === 'longhaul.workflow.CancelActivity') return;
              await target.send(message, endpoint);
            };
          },
        })
      : b.transport;
    const common = {
      transport,
      sagaStore: b.sagaStore,
      timeoutStore: b.timeoutStore,
      logger: silentLogger,
      timeouts: { pollInterval: '50ms' },
    } as const;
    const wf = new Endpoint({
      ...common,
      name: 'wf',
      workflows: timeoutWorkflows,
      workflowOptions: { activityEndpoint: 'act' },
    });
    const act = new Endpoint({ ...common, name: 'act', activities: timeoutActivities });
    await transport.declareEndpoint({ name: 'act', subscriptions: [] });
    await wf.start();
    if (startWorker) await act.start();
    const client: WorkflowClient = wf.workflows;
    return {
      client,
      act,
      result: (id: string) => client.result(id, { timeout: waitMs, pollInterval: '20ms' }),
      async until(predicate: () => Promise<boolean>, what: string) {
        const deadline = Date.now() + waitMs;
        while (!(await predicate())) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      },
      async stop() {
        await act.stop();
        await wf.stop();
        await b.cleanup();
      },
    };
  }

  describe(title, () => {
    it('start-to-close: the worker aborts a hung attempt, releases it, and the retry succeeds', async () => {
      runs.clear();
      const t = await setup();
      try {
        await t.client.start(WithDeadline, { key: 'stc', timeout: ms(3) }, { id: 'stc' });
        expect(await t.result('stc')).toBe('ok on attempt 2');
        expect([count('hang:stc:1'), count('hang:stc:2')]).toEqual([1, 1]);
        // the signal of the hung attempt is aborted at its start-to-close on the worker
        await t.until(async () => count('aborted:stc') === 1, 'the abort');
        const events = (await t.client.history('stc'))!.events;
        expect(events.find((e) => e.e === 'attempt-failed')).toMatchObject({
          attempt: 1,
          failure: { name: 'ActivityTimeoutError', code: 'activity-timeout' },
        });
      } finally {
        await t.stop();
      }
    });

    it('start-to-close is decided durably: with no worker alive the attempt fails and is retried', async () => {
      runs.clear();
      const t = await setup(false); // the activity worker is down
      try {
        await t.client.start(WithDeadline, { key: 'dead', timeout: ms(2) }, { id: 'dead' });
        await t.until(
          async () => ((await t.client.history('dead'))?.events ?? []).some((e) => e.e === 'attempt-failed'),
          'the durable deadline',
        );
        await t.act.start(); // a worker comes back: the stale attempt 1 is skipped, attempt 2 runs
        expect(await t.result('dead')).toBe('ok on attempt 2');
        expect([count('hang:dead:1'), count('hang:dead:2')]).toEqual([0, 1]);
      } finally {
        await t.stop();
      }
    });

    it('heartbeat timeout fails a silent attempt; the next attempt gets the last details', async () => {
      runs.clear();
      const t = await setup();
      try {
        await t.client.start(WithHeartbeat, { key: 'hb', heartbeat: ms(6) }, { id: 'hb' });
        expect(await t.result('hb')).toBe('attempt 2 resumed after 2');
        expect(count('aborted:hb')).toBe(1);
        const failed = (await t.client.history('hb'))!.events.find((e) => e.e === 'attempt-failed');
        expect(failed).toMatchObject({ failure: { code: 'activity-timeout' } });
      } finally {
        await t.stop();
      }
    });

    it('heartbeats keep an attempt alive past its heartbeat timeout', async () => {
      runs.clear();
      const t = await setup();
      try {
        await t.client.start(
          WithHeartbeat,
          { key: 'long', heartbeat: ms(4), longMs: 12 * unitMs },
          { id: 'long' },
        );
        expect(await t.result('long')).toBe('done on attempt 1');
        expect(count('long:long:2')).toBe(0);
      } finally {
        await t.stop();
      }
    });

    it('an attempt that times out on every try fails the operation with activity-timeout', async () => {
      runs.clear();
      const t = await setup();
      try {
        await t.client.start(OutOfAttempts, { key: 'out', timeout: ms(2) }, { id: 'out' });
        expect(await t.result('out')).toBe('ActivityTimeoutError (activity-timeout)');
        const events = (await t.client.history('out'))!.events;
        expect(events.filter((e) => e.e === 'attempt-failed')).toHaveLength(1);
        expect(events.filter((e) => e.e === 'failed')).toHaveLength(1);
        // Attempt 2 ran unless its durable deadline passed while it waited in the queue; every
        // attempt that ran is aborted on its worker.
        expect(count('running:out')).toBeGreaterThanOrEqual(1);
        expect(count('running:out')).toBeLessThanOrEqual(2);
        await t.until(async () => count('aborted:out') === count('running:out'), 'the aborts');
      } finally {
        await t.stop();
      }
    });

    it('cancelling the workflow aborts its running activity through its AbortSignal', async () => {
      runs.clear();
      const t = await setup();
      try {
        await t.client.start(CancelledActivity, 'cx', { id: 'cx' });
        await t.until(async () => count('running:cx') === 1, 'the activity to run');
        await t.client.cancel('cx', 'no longer needed');
        expect(await t.result('cx')).toBe('stopped: CancelledError');
        await t.until(async () => count('aborted:cx') === 1, 'the abort');
      } finally {
        await t.stop();
      }
    });

    it('a worker the cancel message does not reach learns it at its next heartbeat and aborts', async () => {
      runs.clear();
      const t = await setup(true, true);
      try {
        await t.client.start(CancelledBeating, 'far', { id: 'far' });
        await t.until(async () => count('running:far') === 1, 'the activity to run');
        await t.client.cancel('far', 'no longer needed');
        expect(await t.result('far')).toBe('stopped: CancelledError');
        await t.until(async () => count('aborted:far') === 1, 'the abort at a heartbeat');
      } finally {
        await t.stop();
      }
    });
  });
}
