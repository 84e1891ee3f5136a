/**
 * The operations client's behaviour, run by `client-memory.test.ts` (in-memory stores) and
 * `client-ferretdb.test.ts` (FerretDB): labels search, filters, paging, counts, show, and each
 * action recorded on its instance.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidQueryError,
  type InstanceSummary,
  type SagaStore,
  type TimeoutStore,
} from '../../src/index.js';
import { WORKFLOW_SAGA } from '../../src/workflows/engine.js';
import {
  Approval,
  Import,
  importer,
  OrderPaid,
  OrderPlaced,
  OrderSaga,
  type OrderState,
  type OpsBed,
  startBed,
  until,
} from './fixtures.js';

export interface Stores {
  store: SagaStore;
  timeouts: TimeoutStore;
  dispose(): Promise<void>;
}

const ids = (items: readonly InstanceSummary[]): string[] => items.map((i) => i.id).sort();

export function operationsSuite(label: string, stores: () => Promise<Stores>): void {
  describe(`operations client (${label})`, () => {
    let bed: OpsBed;
    let made: Stores;
    let name: string;

    beforeEach(async () => {
      made = await stores();
      name = `ops-${randomUUID().slice(0, 8)}`;
      bed = await startBed(name, made.store, made.timeouts);
      importer.failing = true;
      importer.handled.length = 0;
    });
    afterEach(async () => {
      await bed.stop();
      await made.dispose();
    });

    /** Five orders for two customers, and three approvals (one approved). */
    async function populate(): Promise<void> {
      await bed.deliver(new OrderPlaced('o-1', 'c-1', 50));
      await bed.deliver(new OrderPlaced('o-2', 'c-1', 150));
      await bed.deliver(new OrderPlaced('o-3', 'c-2', 20));
      await bed.deliver(new OrderPlaced('o-4', 'c-2', 500));
      await bed.deliver(new OrderPlaced('o-5', 'c-1', 10));
      await bed.deliver(new OrderPaid('o-5'));
      for (const [id, customer] of [
        ['a-1', 'c-1'],
        ['a-2', 'c-2'],
        ['a-3', 'c-1'],
      ] as const) {
        await bed.endpoint.workflows.start(Approval, { customer }, { id });
      }
      await bed.idle();
      await bed.endpoint.workflows.signal('a-3', 'ops.Approved', { by: 'ada' });
      await bed.idle();
      await until(
        async () => (await bed.endpoint.workflows.status('a-3'))?.status === 'completed',
        'a-3 done',
      );
    }

    it('finds instances by labels set from handlers and workflows, by kind, type and status', async () => {
      await populate();
      const { instances } = bed.ops;
      const c1 = await instances.list({ labels: { customer: 'c-1' } });
      expect(c1.items.map((i) => `${i.kind}:${i.type}:${i.status}`).sort()).toEqual([
        'saga:ops.Order:active',
        'saga:ops.Order:active',
        'saga:ops.Order:active',
        'workflow:ops.Approval:completed',
        'workflow:ops.Approval:running',
      ]);
      const sagaIds = (await instances.list({ kind: 'saga', labels: { customer: 'c-1' } })).items.map(
        (i) => i.correlationKey,
      );
      expect(sagaIds.sort()).toEqual(['o-1', 'o-2', 'o-5']);
      // A label removed with null no longer matches; one set later in a workflow does.
      expect(
        (await instances.list({ labels: { tier: 'basic' } })).items.map((i) => i.correlationKey).sort(),
      ).toEqual(['o-1', 'o-3']);
      expect(ids((await instances.list({ labels: { outcome: 'approved' } })).items)).toEqual(['a-3']);
      expect(ids((await instances.list({ kind: 'workflow', status: 'running' })).items)).toEqual([
        'a-1',
        'a-2',
      ]);
      expect(
        ids((await instances.list({ type: 'ops.Approval', status: ['running', 'completed'] })).items),
      ).toEqual(['a-1', 'a-2', 'a-3']);
      expect((await instances.list({ type: 'ops.Order' })).items).toHaveLength(5);
      expect((await instances.list({ kind: 'saga', status: 'parked' })).items).toEqual([]);
      expect(
        (await instances.list({ status: 'active', labels: { customer: 'c-2' } })).items
          .map((i) => i.correlationKey)
          .sort(),
      ).toEqual(['o-3', 'o-4']);
      const summary = (await instances.list({ labels: { customer: 'c-2' }, kind: 'workflow' })).items[0];
      expect(summary).toMatchObject({ kind: 'workflow', type: 'ops.Approval', id: 'a-2', status: 'running' });
      expect(summary?.labels).toEqual({ customer: 'c-2' });
      expect(summary?.timeoutsPending).toBe(1);
      // By id: a saga by its correlation value or its instance id, a workflow by its id.
      const o2 = (await instances.list({ id: 'o-2' })).items;
      expect(o2.map((i) => i.correlationKey)).toEqual(['o-2']);
      expect((await instances.list({ id: o2[0]!.id })).items.map((i) => i.correlationKey)).toEqual(['o-2']);
      expect(ids((await instances.list({ id: 'a-2', kind: 'workflow' })).items)).toEqual(['a-2']);
      expect((await instances.list({ id: 'a-2', kind: 'saga' })).items).toEqual([]);
      expect((await instances.list({ id: 'o-2', status: 'completed' })).items).toEqual([]);
    });

    it('filters by creation and update time and pages with a cursor through every match once', async () => {
      await bed.deliver(new OrderPlaced('early', 'c-9', 1));
      await new Promise((resolve) => setTimeout(resolve, 15));
      const mark = new Date();
      for (let i = 0; i < 7; i++) await bed.deliver(new OrderPlaced(`late-${i}`, 'c-9', 1));
      const late = await bed.ops.instances.list({ createdFrom: mark, kind: 'saga' }, { limit: 100 });
      expect(late.items.map((i) => i.correlationKey).sort()).toEqual(
        Array.from({ length: 7 }, (_, i) => `late-${i}`),
      );
      expect((await bed.ops.instances.list({ createdTo: mark })).items.map((i) => i.correlationKey)).toEqual([
        'early',
      ]);
      expect((await bed.ops.instances.list({ updatedFrom: new Date(Date.now() + 60_000) })).items).toEqual(
        [],
      );
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await bed.ops.instances.list({ labels: { customer: 'c-9' } }, { limit: 3, cursor });
        expect(page.items.length).toBeLessThanOrEqual(3);
        seen.push(...page.items.map((i) => i.correlationKey));
        cursor = page.next;
        pages++;
      } while (cursor !== undefined);
      expect(pages).toBe(3);
      expect(seen.sort()).toEqual(['early', ...Array.from({ length: 7 }, (_, i) => `late-${i}`)].sort());
    });

    it('counts by kind, type and status, with the filters applied', async () => {
      await populate();
      const counts = await bed.ops.instances.counts();
      expect(counts.total).toBe(8);
      expect(counts.groups).toEqual([
        { kind: 'saga', type: 'ops.Order', status: 'active', count: 5 },
        { kind: 'workflow', type: 'ops.Approval', status: 'running', count: 2 },
        { kind: 'workflow', type: 'ops.Approval', status: 'completed', count: 1 },
      ]);
      const c1 = await bed.ops.instances.counts({ labels: { customer: 'c-1' } });
      expect(c1.total).toBe(5);
      expect((await bed.ops.instances.counts({ kind: 'workflow', status: 'running' })).groups).toEqual([
        { kind: 'workflow', type: 'ops.Approval', status: 'running', count: 2 },
      ]);
    });

    it('rejects bad queries with an error naming the field', async () => {
      const bad = async (run: () => Promise<unknown>, field: string) => {
        const error = await run().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidQueryError);
        expect((error as InvalidQueryError).field).toBe(field);
      };
      const { instances } = bed.ops;
      await bad(() => instances.list({ status: 'sleeping' as never }), 'status');
      await bad(() => instances.list({ kind: 'entity' as never }), 'kind');
      await bad(() => instances.list({ id: '' }), 'id');
      await bad(() => instances.list({}, { limit: 0 }), 'limit');
      await bad(() => instances.list({}, { cursor: 'nonsense' }), 'cursor');
      await bad(() => instances.list({ createdFrom: new Date('x') }), 'createdFrom');
      await bad(() => instances.list({ outboxPendingLongerThan: 'soon' }), 'outboxPendingLongerThan');
      await bad(() => instances.show({ kind: 'saga', type: '', id: 'x' }), 'type');
    });

    it('shows a saga in full and reads it typed by class and correlation value', async () => {
      await bed.deliver(new OrderPlaced('o-1', 'c-1', 150));
      const order = await bed.ops.instances.get<OrderState>(OrderSaga, 'o-1');
      expect(order).toMatchObject({
        kind: 'saga',
        type: 'ops.Order',
        correlationKey: 'o-1',
        status: 'active',
        version: 1,
        labels: { customer: 'c-1', tier: 'gold' },
        stateVersion: 1,
      });
      expect(order?.state?.total).toBe(150);
      expect(order?.dedupe.size).toBe(1);
      expect(order?.dedupe.recent[0]?.at).toBeInstanceOf(Date);
      expect(order?.timeouts).toEqual([
        { id: expect.any(String), type: 'ops.PaymentOverdue', dueAt: expect.any(Date) },
      ]);
      expect(order!.timeouts[0]!.dueAt.getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);
      expect(order?.outbox).toEqual([]);
      const byId = await bed.ops.instances.show({ kind: 'saga', type: 'ops.Order', id: order!.id });
      expect(byId?.correlationKey).toBe('o-1');
      expect(await bed.ops.instances.show({ kind: 'saga', type: 'ops.Order', id: 'nope' })).toBeUndefined();
    });

    it('shows a workflow with its input, history with times, pending operations and labels', async () => {
      await bed.endpoint.workflows.start(Approval, { customer: 'c-7' }, { id: 'wf-show' });
      await bed.idle();
      const shown = await bed.ops.instances.get(Approval, 'wf-show');
      expect(shown).toMatchObject({
        kind: 'workflow',
        type: 'ops.Approval',
        id: 'wf-show',
        status: 'running',
      });
      expect(shown?.labels).toEqual({ customer: 'c-7' });
      expect(shown?.workflow?.input).toEqual({ customer: 'c-7' });
      expect(shown?.workflow?.history[0]).toMatchObject({ index: 0, event: 'started', at: expect.any(Date) });
      expect(shown?.workflow?.pending).toEqual([
        expect.objectContaining({ op: 'event', name: 'ops.Approved' }),
      ]);
      expect(
        await bed.ops.instances.show({ kind: 'workflow', type: 'Other', id: 'wf-show' }),
      ).toBeUndefined();
    });

    it('records each workflow action with its reason: signal, terminate, purge, failed attempts too', async () => {
      const { workflows, instances } = bed.ops;
      const id = await workflows.start(
        'ops.Approval',
        { customer: 'c-1' },
        { id: 'wf-act', reason: 'test', by: 'ops' },
      );
      expect(id).toBe('wf-act');
      await bed.idle();
      await workflows.signal(
        'wf-act',
        'ops.Approved',
        { by: 'bob' },
        { reason: 'approved on the phone', by: 'ada' },
      );
      await bed.idle();
      await until(
        async () => (await bed.endpoint.workflows.status('wf-act'))?.status === 'completed',
        'approved',
      );
      expect((await bed.endpoint.workflows.status('wf-act'))?.result).toBe('approved by bob');

      await bed.endpoint.workflows.start(Approval, { customer: 'c-2' }, { id: 'wf-term' });
      await bed.idle();
      const noReason = await workflows.terminate('wf-term', {}).catch((e: unknown) => e);
      expect((noReason as InvalidQueryError).field).toBe('reason');
      await workflows.resume('wf-term', { reason: 'just checking' });
      await workflows.terminate('wf-term', { reason: 'duplicate', by: 'ada' });
      await bed.idle();
      await until(
        async () => (await bed.endpoint.workflows.status('wf-term'))?.status === 'terminated',
        'terminated',
      );
      expect(await workflows.purge('wf-term', { reason: 'clean up' })).toBe(true);
      expect(
        await bed.ops.instances.show({ kind: 'workflow', type: 'ops.Approval', id: 'wf-term' }),
      ).toBeUndefined();
      await expect(workflows.cancel('missing', { reason: 'x' })).rejects.toThrow(
        "No workflow instance 'missing'",
      );

      const shown = await instances.show({ kind: 'workflow', type: 'ops.Approval', id: 'wf-act' });
      expect(shown?.actions.map((a) => [a.action, a.reason, a.by, a.outcome])).toEqual([
        ['workflow.signal', 'approved on the phone', 'ada', 'done'],
        ['workflow.start', 'test', 'ops', 'done'],
      ]);
      expect(shown?.actions[0]?.detail).toBe('ops.Approved');
      const purged = await instances.actions({ kind: 'workflow', type: 'ops.Approval', id: 'wf-term' });
      expect(purged.map((a) => a.action)).toEqual([
        'workflow.purge',
        'workflow.terminate',
        'workflow.resume',
      ]);
      expect(purged[0]?.target).toEqual({ kind: 'workflow', type: 'ops.Approval', id: 'wf-term' });
    });

    it('cancels and fires saga timeouts and completes a saga, each recorded', async () => {
      await bed.deliver(new OrderPlaced('t-1', 'c-1', 10));
      await bed.deliver(new OrderPlaced('t-2', 'c-1', 10));
      const ref1 = { kind: 'saga' as const, type: 'ops.Order', id: 't-1' };
      const ref2 = { kind: 'saga' as const, type: 'ops.Order', id: 't-2' };
      const t1 = (await bed.ops.instances.show(ref1))!;
      const timeout1 = t1.timeouts[0]!.id;
      expect((await bed.timeouts.listBySaga('ops.Order', t1.id)).map((t) => t.id)).toEqual([timeout1]);
      await bed.ops.sagas.cancelTimeout(ref1, timeout1, { reason: 'customer paid by bank transfer' });
      const after = (await bed.ops.instances.show(ref1))!;
      expect(after.timeouts).toEqual([]);
      expect(after.version).toBe(2);
      expect(await bed.timeouts.listBySaga('ops.Order', t1.id)).toEqual([]);
      await expect(bed.ops.sagas.cancelTimeout(ref1, timeout1)).rejects.toThrow('no pending timeout');

      const t2 = (await bed.ops.instances.show(ref2))!;
      await bed.ops.sagas.fireTimeout(ref2, t2.timeouts[0]!.id, { reason: 'test the reminder' });
      await until(
        async () => ((await bed.ops.instances.show(ref2))?.state as OrderState | null)?.overdue === true,
        'the timeout fired',
      );

      await bed.ops.sagas.complete(ref1, { reason: 'closed by support', by: 'ada' });
      const done = (await bed.ops.instances.show(ref1))!;
      expect(done).toMatchObject({ status: 'completed', state: null });
      expect(done.retainUntil?.getTime()).toBeGreaterThan(Date.now());
      expect(done.actions.map((a) => [a.action, a.outcome, a.detail])).toEqual([
        ['saga.complete', 'done', undefined],
        ['saga.cancel-timeout', 'failed', timeout1],
        ['saga.cancel-timeout', 'done', timeout1],
      ]);
      expect(done.actions[1]?.error).toContain('no pending timeout');
      const t2Actions = await bed.ops.instances.actions(ref2);
      expect(t2Actions.map((a) => [a.action, a.reason])).toEqual([
        ['saga.fire-timeout', 'test the reminder'],
      ]);
    });

    it('finds outbox entries pending too long, retries and dead-letters them, recorded', async () => {
      const old = new Date(Date.now() - 3_600_000);
      const entry = (id: string) => ({
        id,
        operation: 'send' as const,
        message: { messageId: id, headers: { 'longhaul.type': 'ops.Ship' }, body: '{}' },
        destination: 'nowhere',
        sourceMessageId: 'src',
        createdAt: old,
      });
      const record = {
        sagaType: 'ops.Stuck',
        id: 'stuck-1',
        correlationKey: 'stuck-1',
        version: 1,
        status: 'active' as const,
        state: { n: 1 },
        inbox: [],
        timeouts: [],
        createdAt: old,
        updatedAt: old,
        labels: { customer: 'c-3' },
      };
      await bed.store.commit({ expectedVersion: 0, newOutbox: [entry('e-1'), entry('e-2')], record });
      await bed.store.claimOutbox('ops.Stuck', 'stuck-1', [{ entryId: 'e-1', expectedClaim: undefined }], {
        token: 'holder',
        until: new Date(Date.now() + 3_600_000),
      });
      await bed.deliver(new OrderPlaced('fresh', 'c-3', 1));
      const stuck = await bed.ops.instances.list({ outboxPendingLongerThan: '10m' });
      expect(stuck.items.map((i) => `${i.type}/${i.id}`)).toEqual(['ops.Stuck/stuck-1']);
      expect(stuck.items[0]).toMatchObject({ outboxPending: 2, outboxOldestAt: old });
      expect((await bed.ops.instances.counts({ outboxPendingLongerThan: '10m' })).total).toBe(1);
      expect((await bed.ops.instances.list({ outboxPendingLongerThan: '2h' })).items).toEqual([]);

      const ref = { kind: 'saga' as const, type: 'ops.Stuck', id: 'stuck-1' };
      await bed.ops.sagas.retryOutbox(ref, 'e-1', { reason: 'broker is back' });
      const shown = (await bed.ops.instances.show(ref))!;
      const e1 = shown.outbox.find((e) => e.id === 'e-1')!;
      // Due now instead of in an hour, unless the bed's sweeper (every 50 ms) already took it for
      // its next attempt: either way the holder's hour-long claim no longer keeps it.
      const retried = e1.attempts === 1 ? e1.nextAttemptAt!.getTime() <= Date.now() : e1.attempts >= 2;
      expect(retried, `attempts ${e1.attempts}, next ${e1.nextAttemptAt?.toISOString()}`).toBe(true);
      await bed.ops.sagas.deadLetterOutbox(ref, 'e-2', { reason: 'destination retired' });
      const after = (await bed.ops.instances.show(ref))!;
      expect(after.outbox.map((e) => e.id)).toEqual(['e-1']);
      expect((await bed.store.deadLetters.get('e-2'))?.reason).toContain('destination retired');
      expect(after.recentErrors.map((e) => e.source)).toContain('outbox-dead-letter');
      expect(after.actions.map((a) => [a.action, a.detail, a.reason])).toEqual([
        ['saga.dead-letter-outbox', 'e-2', 'destination retired'],
        ['saga.retry-outbox', 'e-1', 'broker is back'],
      ]);
      await expect(bed.ops.sagas.retryOutbox(ref, 'e-9')).rejects.toThrow("no pending outbox entry 'e-9'");
      await expect(
        bed.ops.sagas.complete({ kind: 'workflow', type: 'ops.Approval', id: 'x' }),
      ).rejects.toThrow('use the workflow actions');
      expect(WORKFLOW_SAGA).toBe('longhaul.Workflow');
    });

    it('lists, shows, deletes (by filter) and replays error-queue messages, recorded', async () => {
      await bed.endpoint.bus.send(new Import('a.csv'), { to: name });
      const b = await bed.endpoint.bus.send(new Import('b.csv'), { to: name });
      await bed.idle();
      const { errors } = bed.ops;
      expect(await errors.count(name)).toBe(2);
      const listed = await errors.list(name);
      expect(listed.map((m) => [m.type, m.reason, m.error])).toEqual([
        ['ops.Import', 'handler-error', 'Error: cannot read a.csv'],
        ['ops.Import', 'handler-error', 'Error: cannot read b.csv'],
      ]);
      expect((await errors.show(name, b))?.body.text).toContain('b.csv');
      const a = listed[0]!.messageId;
      await expect(errors.delete(name, { filter: {} })).rejects.toThrow('filter');
      const deleted = await errors.delete(name, { ids: [a, 'gone'] }, { reason: 'bad file' });
      expect(deleted).toEqual({ done: [a], missing: ['gone'], failed: [] });
      importer.failing = false;
      const replayed = await errors.replay(name, { filter: { type: 'ops.Import' } }, { reason: 'fixed' });
      expect(replayed.done).toEqual([b]);
      await bed.idle();
      expect(importer.handled).toEqual(['b.csv']);
      expect(await errors.count(name)).toBe(0);
      const logged = await bed.ops.instances.actions({ kind: 'saga', type: `error-queue:${name}`, id: a });
      expect(logged.map((l) => [l.action, l.reason, l.detail])).toEqual([
        ['errors.delete', 'bad file', name],
      ]);
      // The queue's record: every replay and delete, newest first, each naming its message.
      const queueLog = await errors.actions(name);
      expect(queueLog.map((l) => [l.action, l.target.id, l.reason, l.outcome])).toEqual([
        ['errors.replay', b, 'fixed', 'done'],
        ['errors.delete', a, 'bad file', 'done'],
      ]);
      expect((await errors.actions(name, { messageId: b })).map((l) => l.action)).toEqual(['errors.replay']);
      await expect(errors.actions(name, { limit: 0 })).rejects.toThrow('limit');
    });
  });
}
