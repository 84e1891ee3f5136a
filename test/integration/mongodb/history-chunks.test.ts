/**
 * Workflow histories in sealed chunks (src/persistence/mongodb/history-chunks.ts) on RabbitMQ +
 * FerretDB, with the run cache on and off: a workflow of more than 250 events completes; its
 * chunk documents exist and the instance keeps only the open chunk inline; a chunk inserted by a
 * commit that then lost its conditional write is never read; the export and the operators' reads
 * see the whole history; deleting the instance deletes its chunks.
 */
import { type Collection, type Document, type MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  activity,
  ConcurrencyError,
  Event,
  MongoSagaStore,
  OperationsClient,
  silentLogger,
  WORKFLOW_SAGA,
  Workflow,
  type WorkflowContext,
} from '../../../src/index.js';
import { type HistoryEvent, type WorkflowState } from '../../../src/workflows/history.js';
import { workflowServices } from '../workflows/services-endpoint.js';
import { mongoUrl, rawClient } from './support.js';

const inc = activity('chunks.Inc', (n: number) => n + 1);

@Event('chunks.More')
class More {
  constructor(readonly steps: number) {}
}

@Workflow('chunks.Long')
class Long {
  async run(ctx: WorkflowContext, input: { steps: number }): Promise<number> {
    let n = 0;
    for (let i = 0; i < input.steps; i++) n = await ctx.activity(inc, n);
    const more = await ctx.waitForEvent(More);
    for (let i = 0; i < more!.steps; i++) n = await ctx.activity(inc, n);
    return n;
  }
}

let raw: MongoClient;
beforeAll(async () => {
  raw = await rawClient();
});
afterAll(async () => {
  await raw?.close();
});

for (const cache of [true, false]) {
  describe(`workflow histories in chunks on RabbitMQ + FerretDB (run cache ${cache ? 'on' : 'off'})`, () => {
    const services = workflowServices({
      name: `chunks-${cache ? 'on' : 'off'}`,
      prefix: `chunks_${cache ? 'on' : 'off'}`,
      workflows: [Long],
      activities: [inc],
      workflowOptions: { cache: { maxRuns: cache ? 100 : 0 } },
    });
    const database = () => `lh_chunks_${cache ? 'on' : 'off'}_${services.tag}`;
    const sagas = (): Collection<Document> => raw.db(database()).collection('longhaul_sagas');
    const chunks = (): Collection<Document> => raw.db(database()).collection('longhaul_sagas_chunks');
    const waitingForMore = (id: string) =>
      services.until(
        async () => (await services.client.status(id))?.pending.some((p) => p.op === 'event') ?? false,
        `${id} waits for More`,
      );

    it('completes a workflow of more than 250 events; the instance names its chunks and ignores an orphan', async () => {
      const id = `long-${services.tag}`;
      await services.client.start(Long, { steps: 130 }, { id });
      await waitingForMore(id);

      const doc = await sagas().findOne({ sagaType: WORKFLOW_SAGA, correlationKey: id });
      const inline = (doc?.state as { history: unknown[] }).history;
      const ids = doc?.chunks as string[];
      expect(ids).toHaveLength(2); // 1 + 2 × 130 + 1 = 262 events: 200 sealed, 62 inline
      expect(doc?.chunkedItems).toBe(200);
      expect(inline).toHaveLength(62);
      const stored = await chunks().find({ owner: doc?._id }).toArray();
      expect(stored.map((c) => String(c._id)).sort()).toEqual([...ids].sort());
      expect(stored.every((c) => (c.items as unknown[]).length === 100)).toBe(true);
      expect(ids[0]).toMatch(new RegExp(`^${escape(String(doc?._id))}#0@\\d+#[0-9a-f]{24}$`));

      // A commit on a version already passed: it seals a chunk of made-up events, then loses.
      const side = new MongoSagaStore({ url: mongoUrl, database: database(), logger: silentLogger });
      try {
        const record = (await side.findByCorrelation(WORKFLOW_SAGA, id))!;
        const state = record.state as WorkflowState;
        expect(state.history).toHaveLength(262);
        const bogus: HistoryEvent[] = Array.from({ length: 150 }, (_, i) => ({
          e: 'signal',
          id: `bogus-${i}`,
          name: 'bogus',
          payload: null,
          at: new Date(),
        }));
        const { outbox: _outbox, ...writable } = record;
        await expect(
          side.commit({
            expectedVersion: record.version - 1,
            newOutbox: [],
            record: { ...writable, state: { ...state, history: [...state.history, ...bogus] } },
            append: { field: 'history', from: state.history.length, removed: [] },
            appendOnly: 'history',
          }),
        ).rejects.toBeInstanceOf(ConcurrencyError);
        const orphans = (await chunks().find({ owner: doc?._id }).toArray()).filter(
          (c) => !ids.includes(String(c._id)),
        );
        expect(orphans.length).toBeGreaterThan(0);

        await services.client.signal(id, More, new More(3));
        expect(await services.result(id)).toBe(133);

        // The export, the store and the operators' view all see the whole history, no orphan in it.
        const exported = (await services.client.history(id))!.events;
        expect(exported).toHaveLength(262 + 1 + 2 * 3); // + the signal, 3 activities
        expect(exported.some((e) => e.e === 'signal' && e.name === 'bogus')).toBe(false);
        const whole = ((await side.findByCorrelation(WORKFLOW_SAGA, id))!.state as WorkflowState).history;
        expect(whole.map((e) => e.e)).toEqual(exported.map((e) => e.e));
        const shown = await new OperationsClient({ store: side }).instances.show({
          kind: 'workflow',
          type: 'chunks.Long',
          id,
        });
        expect(shown?.workflow?.history).toHaveLength(exported.length);
        const found = await side.admin.search([{ sagaTypes: [WORKFLOW_SAGA], ids: [id] }], { limit: 5 });
        expect((found.records[0]?.state as WorkflowState).history).toHaveLength(exported.length);

        // Purging deletes the instance and the chunks it named (the orphan stays: never read).
        const named = (await sagas().findOne({ _id: doc?._id }))?.chunks as string[];
        expect(named.length).toBe(2);
        expect(await services.client.purge({ instanceId: id })).toBe(1);
        expect(await sagas().findOne({ _id: doc?._id })).toBeNull();
        expect(await chunks().countDocuments({ _id: { $in: named as never[] } })).toBe(0);
      } finally {
        await side.close();
      }
    }, 180_000);
  });
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
