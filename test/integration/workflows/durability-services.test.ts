/**
 * Workflows that outlive their code, on the real services: RabbitMQ (transport, activity queue)
 * and FerretDB through its gate (history, timers, recheck timers), on the wall clock.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type WorkflowClient } from '../../../src/index.js';
import { Approved, count, runs } from '../../workflows/fixtures.js';
import {
  deployed,
  durableActivities,
  durableWorkflows,
  Evolving,
  Go,
  Growing,
  Inbox,
  Patching,
  Sneaky,
  Steps,
  TooLarge,
} from '../../workflows/durable-fixtures.js';
import { workflowServices } from './services-endpoint.js';
import { forgetCachedRuns } from '../../../src/workflows/run-cache.js';

const services = workflowServices({
  name: 'durable',
  prefix: 'wfd',
  workflows: durableWorkflows,
  activities: durableActivities,
  workflowOptions: {
    buildId: 'it-build',
    parkedRecheckInterval: '1s',
    history: { suggestContinueAsNew: { events: 14 }, limit: { events: 26 } },
  },
});
const { tag, result, until } = services;
let client: WorkflowClient;
beforeAll(() => {
  client = services.client;
});

afterEach(() => {
  deployed.evolving = 'v1';
  deployed.patching = false;
});

const statusOf = async (id: string) => (await client.status(id))?.status;

/** An Evolving instance on v1 waiting in its sleep, then v2 deployed and a signal that parks it. */
async function parkedUnderV2(id: string, sleep: string): Promise<void> {
  deployed.evolving = 'v1';
  await client.start(Evolving, { id, sleep }, { id });
  await until(
    async () => (await client.status(id))?.pending.some((p) => p.op === 'sleep') ?? false,
    'the sleep',
  );
  deployed.evolving = 'v2';
  forgetCachedRuns(); // a deploy restarts the process: its run cache starts empty
  await client.signal(id, Approved, new Approved('ada'));
  await until(async () => (await statusOf(id)) === 'parked', 'parking');
}

describe('durable workflows that outlive their code, on RabbitMQ + FerretDB', () => {
  it('changed code parks the instance; the signal and the timer are kept; rollback resumes it by itself', async () => {
    runs.clear();
    const id = `ev-${tag}`;
    await parkedUnderV2(id, '1s');
    expect((await client.status(id))?.parked).toMatchObject({
      kind: 'non-determinism',
      position: 1,
      recorded: "sleep 'timer'",
      requested: "activity 'Step'",
      build: 'it-build',
    });
    expect((await client.status(id))?.history.signalsWaiting).toBe(1);
    // The 1 s timer fires while parked, and the 1 s rechecks run and keep it parked.
    await until(async () => ((await client.status(id))?.parked?.checks ?? 0) >= 2, 'two rechecks');
    expect((await client.status(id))?.pending).toEqual([]);
    deployed.evolving = 'v1';
    expect(await result(id)).toBe('approved by ada');
    expect(count(`Step:one:${id}`)).toBe(1);
    expect(count(`Step:extra:${id}`)).toBe(0);
  });

  it('client.resume replays a parked instance at once', async () => {
    const id = `rs-${tag}`;
    await parkedUnderV2(id, '60s');
    deployed.evolving = 'v1';
    await client.resume(id);
    await until(async () => (await statusOf(id)) === 'running', 'resumed');
    expect((await client.status(id))?.pending).toMatchObject([{ op: 'sleep' }]);
    await client.terminate(id, 'done with it');
    await until(async () => (await statusOf(id)) === 'terminated', 'terminated');
    expect(await client.purge({ instanceId: id })).toBe(1);
  });

  it('patched: an old instance keeps the old path, a new one takes the new path, both complete', async () => {
    runs.clear();
    const [old, fresh] = [`pt-old-${tag}`, `pt-new-${tag}`];
    await client.start(Patching, 'old', { id: old });
    await until(
      async () => (await client.status(old))?.pending.some((p) => p.op === 'event') ?? false,
      'old waits',
    );
    deployed.patching = true;
    await client.start(Patching, 'new', { id: fresh });
    await until(
      async () => (await client.status(fresh))?.pending.some((p) => p.op === 'event') ?? false,
      'new waits',
    );
    for (const id of [old, fresh]) await client.signal(id, Approved, new Approved('x'));
    expect(await result(old)).toEqual(['first:old']);
    expect(await result(fresh)).toEqual(['first:new', 'extra:new']);
    expect((await client.status(fresh))?.history.patches).toEqual(['extra-step']);
  });

  it('reset reruns only what follows the event', async () => {
    runs.clear();
    const id = `st-${tag}`;
    await client.start(Steps, id, { id });
    expect(await result(id)).toEqual([`${id}:1`, `${id}:2`, `${id}:3`]);
    await client.reset(id, { afterEvent: 4, reason: 'rerun step 3' });
    await until(
      async () => (await client.status(id))?.resets === 1 && (await statusOf(id)) === 'completed',
      'rerun',
    );
    expect([count(`Step:${id}:1`), count(`Step:${id}:2`), count(`Step:${id}:3`)]).toEqual([1, 1, 2]);
  });

  it('a signal sent three times with one signalId is received once; unconsumed signals reach the next generation', async () => {
    const id = `in-${tag}`;
    await client.start(Inbox, [], { id });
    for (let i = 0; i < 3; i++) await client.signal(id, Approved, new Approved('a'), { signalId: 'req-1' });
    await until(
      async () => (await client.status(id))?.pending.some((p) => p.name === 'wf.Go') ?? false,
      'waits for Go',
    );
    // One at a time: the endpoint handles messages concurrently, so two sent back to back may be
    // recorded in either order; the order under test is the one recorded, across continueAsNew.
    await client.signal(id, Approved, new Approved('b'), { signalId: 'req-2' });
    await until(async () => (await client.status(id))?.history.signalsWaiting === 1, 'b buffered');
    await client.signal(id, Approved, new Approved('c'), { signalId: 'req-3' });
    await until(async () => (await client.status(id))?.history.signalsWaiting === 2, 'two buffered');
    await client.signal(id, Go, new Go());
    expect(await result(id)).toEqual(['a', 'b', 'c']);
    expect((await client.status(id))?.generation).toBe(2);
  });

  it('a non-ctx await parks with the reason; a 2 MB activity result is a failure the workflow catches', async () => {
    await client.start(Sneaky, undefined, { id: `sn-${tag}` });
    await until(async () => (await statusOf(`sn-${tag}`)) === 'parked', 'parked');
    expect((await client.status(`sn-${tag}`))?.parked).toMatchObject({ kind: 'non-ctx-await' });
    await client.start(TooLarge, 2, { id: `big-${tag}` });
    expect(await result(`big-${tag}`)).toMatch(/^caught payload-too-large: The result of activity 'Huge'/);
  });

  it('history limits: continueAsNew is suggested at the threshold, the instance fails past the limit', async () => {
    await client.start(Growing, 8, { id: `gr-${tag}` });
    expect(await result(`gr-${tag}`)).toMatchObject({ suggestedAt: 6 }); // 15 events after step 6
    await client.start(Growing, 20, { id: `gl-${tag}` });
    await until(async () => (await statusOf(`gl-${tag}`)) === 'failed', 'failed');
    expect((await client.status(`gl-${tag}`))?.failure).toMatchObject({ code: 'history-too-large' });
  });
});
