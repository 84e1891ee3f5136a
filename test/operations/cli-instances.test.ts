/** `longhaul instances …` (text and --json) against an endpoint on RabbitMQ + FerretDB. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Approval, OrderPlaced } from './fixtures.js';
import { cli, type ServicesBed, startServices, until } from './services.js';

describe('longhaul instances (CLI, RabbitMQ + FerretDB)', () => {
  let bed: ServicesBed;
  const env = {};

  beforeAll(async () => {
    bed = await startServices('cli-inst');
    await bed.endpoint.bus.send(new OrderPlaced('o-1', 'c-1', 150), { to: bed.name });
    await bed.endpoint.bus.send(new OrderPlaced('o-2', 'c-2', 20), { to: bed.name });
    await bed.endpoint.bus.send(new OrderPlaced('o-3', 'c-2', 30), { to: bed.name });
    await bed.endpoint.workflows.start(Approval, { customer: 'c-1' }, { id: 'a-1' });
    await until(async () => (await bed.ops.instances.counts()).total === 4, 'four instances');
    await until(
      async () =>
        (await bed.ops.instances.show({ kind: 'workflow', type: 'ops.Approval', id: 'a-1' }))?.labels
          .customer === 'c-1',
      'the workflow label',
    );
  });
  afterAll(() => bed?.dispose());

  it('lists with filters, as a table and as JSON, and pages with --cursor', async () => {
    const text = await cli(env, 'instances', 'list', '--label', 'customer=c-1', ...bed.flags);
    expect(text).toMatchObject({ code: 0, err: '' });
    expect(text.out).toMatch(/^KIND\s+TYPE\s+ID\s+KEY\s+STATUS\s+VERSION\s+UPDATED\s+OUTBOX\s+LABELS/);
    expect(text.out).toMatch(/saga\s+ops\.Order\s+\S+\s+o-1\s+active\s+1 /);
    expect(text.out).toMatch(/workflow\s+ops\.Approval\s+a-1\s+running/);
    expect(text.out).toContain('customer=c-1,tier=gold');
    expect(text.out).toContain('2 instance(s).');

    const json = await cli(
      env,
      'instances',
      'list',
      '--kind',
      'saga',
      '--label',
      'customer=c-2',
      '--json',
      ...bed.flags,
    );
    expect(json.code).toBe(0);
    const page = JSON.parse(json.out) as {
      items: { correlationKey: string; labels: object }[];
      next?: string;
    };
    expect(page.items.map((i) => i.correlationKey).sort()).toEqual(['o-2', 'o-3']);
    expect(page.next).toBeUndefined();
    const byId = JSON.parse(
      (await cli(env, 'instances', 'list', '--id', 'o-2', '--json', ...bed.flags)).out,
    ) as {
      items: { correlationKey: string }[];
    };
    expect(byId.items.map((i) => i.correlationKey)).toEqual(['o-2']);

    const first = JSON.parse(
      (await cli(env, 'instances', 'list', '--limit', '3', '--json', ...bed.flags)).out,
    ) as {
      items: { id: string }[];
      next: string;
    };
    expect(first.items).toHaveLength(3);
    const firstText = await cli(env, 'instances', 'list', '--limit', '3', ...bed.flags);
    expect(firstText.out).toContain(`next page: --cursor ${first.next}`);
    const second = JSON.parse(
      (await cli(env, 'instances', 'list', '--limit', '3', '--cursor', first.next, '--json', ...bed.flags))
        .out,
    ) as { items: { id: string }[]; next?: string };
    expect(second.items).toHaveLength(1);
    expect(second.next).toBeUndefined();

    const running = await cli(
      env,
      'instances',
      'list',
      '--status',
      'running',
      '--type',
      'ops.Approval',
      '--json',
      ...bed.flags,
    );
    expect((JSON.parse(running.out) as { items: { id: string }[] }).items.map((i) => i.id)).toEqual(['a-1']);
    const since = await cli(env, 'instances', 'list', '--created-from', '2999-01-01T00:00:00Z', ...bed.flags);
    expect(since.out).toBe('No instances match.');
    const stuck = await cli(
      env,
      'instances',
      'list',
      '--outbox-pending-longer-than',
      '1h',
      '--json',
      ...bed.flags,
    );
    expect(JSON.parse(stuck.out)).toEqual({ items: [] });
  });

  it('counts by kind, type and status', async () => {
    const text = await cli(env, 'instances', 'counts', ...bed.flags);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/saga\s+ops\.Order\s+active\s+3/);
    expect(text.out).toMatch(/workflow\s+ops\.Approval\s+running\s+1/);
    expect(text.out).toContain('4 instance(s).');
    const json = await cli(env, 'instances', 'counts', '--label', 'customer=c-2', '--json', ...bed.flags);
    expect(JSON.parse(json.out)).toEqual({
      total: 2,
      groups: [{ kind: 'saga', type: 'ops.Order', status: 'active', count: 2 }],
    });
  });

  it('shows one instance by correlation value or workflow id, in text and JSON', async () => {
    const saga = await cli(env, 'instances', 'show', 'ops.Order', 'o-1', ...bed.flags);
    expect(saga.code).toBe(0);
    expect(saga.out).toMatch(/^Saga ops\.Order '\S+' \(correlation o-1\)/);
    expect(saga.out).toContain('Labels:    customer=c-1,tier=gold');
    expect(saga.out).toContain('State:     {"total":150}');
    expect(saga.out).toMatch(/Timeouts \(1 pending\):\n {2}\S+ {2}ops\.PaymentOverdue {2}due \d{4}-/);
    expect(saga.out).toContain('Dedupe:    1 message id(s)');
    const json = JSON.parse(
      (await cli(env, 'instances', 'show', 'ops.Order', 'o-1', '--json', ...bed.flags)).out,
    ) as {
      state: unknown;
      timeouts: { dueAt: string }[];
      version: number;
    };
    expect(json).toMatchObject({ state: { total: 150 }, version: 1 });
    expect(Date.parse(json.timeouts[0]!.dueAt)).toBeGreaterThan(Date.now());

    const wf = await cli(env, 'instances', 'show', 'ops.Approval', 'a-1', ...bed.flags);
    expect(wf.code).toBe(0);
    expect(wf.out).toContain("Workflow ops.Approval 'a-1'");
    expect(wf.out).toContain('Input:     {"customer":"c-1"}');
    expect(wf.out).toMatch(/History \(\d+ events\):\n +0 {2}\d{4}-\S+ +started/);
    expect(wf.out).toMatch(/#0 event ops\.Approved since/);

    const missing = await cli(env, 'instances', 'show', 'ops.Order', 'nope', ...bed.flags);
    expect(missing).toMatchObject({ code: 1, err: "No instance ops.Order 'nope'." });
  });

  it('runs the saga actions, recorded with reason and actor, and lists them', async () => {
    const order = (await bed.ops.instances.show({ kind: 'saga', type: 'ops.Order', id: 'o-2' }))!;
    const timeoutId = order.timeouts[0]!.id;
    const fired = await cli(
      { USER: 'ada' },
      'instances',
      'fire-timeout',
      'ops.Order',
      'o-2',
      timeoutId,
      '--reason',
      'test the reminder',
      ...bed.flags,
    );
    expect(fired).toMatchObject({ code: 0, out: `fire-timeout: done on ops.Order 'o-2' (${timeoutId}).` });
    await until(
      async () =>
        (
          (await bed.ops.instances.show({ kind: 'saga', type: 'ops.Order', id: 'o-2' }))?.state as {
            overdue?: boolean;
          }
        )?.overdue === true,
      'the fired timeout handled',
    );

    const o3 = (await bed.ops.instances.show({ kind: 'saga', type: 'ops.Order', id: 'o-3' }))!;
    const cancel = await cli(
      env,
      'instances',
      'cancel-timeout',
      'ops.Order',
      'o-3',
      o3.timeouts[0]!.id,
      '--reason',
      'paid by transfer',
      '--by',
      'bob',
      '--json',
      ...bed.flags,
    );
    expect(JSON.parse(cancel.out)).toEqual({
      action: 'cancel-timeout',
      type: 'ops.Order',
      id: 'o-3',
      target: o3.timeouts[0]!.id,
      ok: true,
    });
    const complete = await cli(
      env,
      'instances',
      'complete',
      'ops.Order',
      'o-3',
      '--reason',
      'closed',
      ...bed.flags,
    );
    expect(complete.code).toBe(0);
    const again = await cli(
      env,
      'instances',
      'complete',
      'ops.Order',
      'o-3',
      '--reason',
      'twice',
      ...bed.flags,
    );
    expect(again.code).toBe(1);
    expect(again.err).toContain('already completed');

    const actions = await cli(env, 'instances', 'actions', 'ops.Order', 'o-3', ...bed.flags);
    expect(actions.out).toMatch(/^AT\s+ACTION\s+OUTCOME\s+BY\s+DETAIL\s+REASON/);
    expect(actions.out).toMatch(/saga\.complete\s+failed: Saga ops\.Order .*twice/);
    expect(actions.out).toMatch(/saga\.cancel-timeout\s+done\s+bob\s+\S+\s+paid by transfer/);
    const json = JSON.parse(
      (await cli(env, 'instances', 'actions', 'ops.Order', 'o-2', '--json', ...bed.flags)).out,
    );
    expect(json).toEqual([
      expect.objectContaining({
        action: 'saga.fire-timeout',
        reason: 'test the reminder',
        by: 'ada',
        outcome: 'done',
      }),
    ]);

    // Outbox entries: a stuck one, retried and dead-lettered.
    const old = new Date(Date.now() - 7_200_000);
    await bed.endpoint.sagaStore.commit({
      expectedVersion: 0,
      newOutbox: ['e-1', 'e-2'].map((id) => ({
        id,
        operation: 'publish' as const,
        message: { messageId: id, headers: { 'longhaul.type': 'ops.Nothing' }, body: '{}' },
        sourceMessageId: 'src',
        createdAt: old,
        nextAttemptAt: new Date(Date.now() + 3_600_000),
        claim: 'holder',
        attempts: 3,
      })),
      record: {
        sagaType: 'ops.Stuck',
        id: 's-1',
        correlationKey: 's-1',
        version: 1,
        status: 'active',
        state: {},
        inbox: [],
        timeouts: [],
        createdAt: old,
        updatedAt: old,
      },
    });
    const stuck = await cli(env, 'instances', 'list', '--outbox-pending-longer-than', '1h', ...bed.flags);
    expect(stuck.out).toMatch(/saga\s+ops\.Stuck\s+s-1\s+s-1\s+active\s+1\s+\S+\s+2 since/);
    const retry = await cli(
      env,
      'instances',
      'retry-outbox',
      'ops.Stuck',
      's-1',
      'e-1',
      '--json',
      ...bed.flags,
    );
    expect(JSON.parse(retry.out)).toMatchObject({ action: 'retry-outbox', ok: true });
    // Due now: the endpoint's outbox sweeper sends it (the other one waits out its claim).
    await until(async () => {
      const outbox = (await bed.ops.instances.show({ kind: 'saga', type: 'ops.Stuck', id: 's-1' }))!.outbox;
      return outbox.length === 1 && outbox[0]!.id === 'e-2';
    }, 'the retried entry sent');
    const dead = await cli(
      env,
      'instances',
      'dead-letter-outbox',
      'ops.Stuck',
      's-1',
      'e-2',
      '--reason',
      'retired',
      ...bed.flags,
    );
    expect(dead.code).toBe(0);
    const shown = await cli(env, 'instances', 'show', 'ops.Stuck', 's-1', ...bed.flags);
    expect(shown.out).toContain('Outbox (0 pending):');
    expect(shown.out).toMatch(/outbox-dead-letter e-2: dead-lettered by an operator: retired/);
    expect(shown.out).toMatch(/saga\.dead-letter-outbox\s+done/);
  });

  it('explains its usage and rejects bad input with exit code 2', async () => {
    for (const argv of [
      ['instances', '--help'],
      ['instances', 'list', '--help'],
      ['instances', 'complete', '-h'],
    ]) {
      const run = await cli(env, ...argv);
      expect(run.code, argv.join(' ')).toBe(0);
      expect(run.out).toMatch(/^Usage: longhaul instances/);
    }
    expect((await cli(env, 'instances')).code).toBe(2);
    const noStore = await cli(env, 'instances', 'list');
    expect(noStore).toMatchObject({
      code: 2,
      err: 'Say where the instances are: --mongo <url> (or set MONGODB_URL)',
    });
    const badStatus = await cli(env, 'instances', 'list', '--status', 'sleeping', ...bed.flags);
    expect(badStatus.code).toBe(2);
    expect(badStatus.err).toContain('status: expected one of active, running');
    expect((await cli(env, 'instances', 'list', '--label', 'oops', ...bed.flags)).err).toContain(
      '--label takes key=value',
    );
    expect((await cli(env, 'instances', 'list', '--limit', '0', ...bed.flags)).code).toBe(2);
    expect((await cli(env, 'instances', 'show', 'ops.Order', ...bed.flags)).code).toBe(2);
    expect(
      (await cli(env, 'instances', 'show', 'ops.Order', 'o-1', '--reason', 'x', ...bed.flags)).code,
    ).toBe(2);
    // The environment stands in for the flags.
    const fromEnv = await cli(
      { MONGODB_URL: bed.flags[5]!, LONGHAUL_DATABASE: bed.database },
      'instances',
      'counts',
      '--json',
    );
    expect(JSON.parse(fromEnv.out)).toMatchObject({ total: expect.any(Number) });
  });
});
