/**
 * The operators' search on the MongoDB store walks hash buckets with one equality per query
 * (`scan-terms.ts`): every match is returned once, in `(scanBucket, _id)` order, whether the walk
 * goes bucket by bucket or reads a small term whole; commits keep the fields current; the store
 * answers a bucket query from the `longhaul_scan` index; documents stored before the fields get
 * them once at `init`.
 */
import { type Document } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_SAGA, type SagaRecord } from '../../../src/index.js';
import { type InstanceCriteria } from '../../../src/persistence/instance-admin.js';
import { MongoSagaStore } from '../../../src/persistence/mongodb/index.js';
import {
  documentId,
  encodeLabels,
  encodeMutable,
  labelTerms,
} from '../../../src/persistence/mongodb/saga-document.js';
import { scanFields } from '../../../src/persistence/mongodb/scan-terms.js';
import { sagaInstanceId } from '../../../src/util/ids.js';
import { databaseFor, rawClient, storeOptions, suiteFixture } from './support.js';

/** Enough instances that a page of 37 spans several buckets and an unfiltered walk is not read whole. */
const STORED = 1200;
const WF_STATUSES = ['running', 'completed', 'parked', 'failed'];

interface Spec {
  readonly record: Omit<SagaRecord, 'outbox'>;
  /** The API-level kind, type and status. */
  readonly kind: 'saga' | 'workflow';
  readonly type: string;
  readonly status: string;
}

function specOf(i: number, base: number): Spec {
  const createdAt = new Date(base + i * 1000);
  const labels = { customer: `c-${i % 40}` };
  const key = `k-${i}`;
  if (i % 3 === 2) {
    const status = WF_STATUSES[i % 4] as string;
    const type = `scan.Flow${i % 2}`;
    return {
      kind: 'workflow',
      type,
      status,
      record: {
        sagaType: WORKFLOW_SAGA,
        id: sagaInstanceId(WORKFLOW_SAGA, key),
        correlationKey: key,
        version: 1,
        status: status === 'completed' ? 'completed' : 'active',
        state: { status },
        inbox: [],
        timeouts: [],
        createdAt,
        updatedAt: createdAt,
        labels: { ...labels, workflowType: type, status },
      },
    };
  }
  const sagaType = i % 2 === 0 ? 'scan.Order' : 'scan.Refund';
  const status = i % 5 === 0 ? 'completed' : 'active';
  return {
    kind: 'saga',
    type: sagaType,
    status,
    record: {
      sagaType,
      id: sagaInstanceId(sagaType, key),
      correlationKey: key,
      version: 1,
      status,
      state: { i },
      inbox: [],
      timeouts: [],
      createdAt,
      updatedAt: createdAt,
      labels,
    },
  };
}

function documentOf(spec: Spec, withScanFields = true): Document & { _id: string } {
  const { record } = spec;
  const _id = documentId(record.sagaType, record.id);
  return {
    _id,
    sagaType: record.sagaType,
    id: record.id,
    correlationKey: record.correlationKey,
    ...encodeMutable(record),
    createdAt: record.createdAt,
    labels: encodeLabels(record.labels ?? {}),
    labelTerms: labelTerms(record.sagaType, record.labels ?? {}),
    outbox: {},
    ...(withScanFields ? scanFields({ ...record, _id, labels: record.labels }) : {}),
  };
}

describe('instance search by scan buckets (MongoDB store)', () => {
  const fixture = suiteFixture();
  const database = databaseFor('scan');
  const store = new MongoSagaStore(storeOptions(database));
  const base = Date.UTC(2026, 0, 1);
  const specs = Array.from({ length: STORED }, (_, i) => specOf(i, base));

  beforeAll(async () => {
    await store.init();
    const collection = fixture.raw.db(database).collection<Document & { _id: string }>(store.collectionName);
    for (let from = 0; from < STORED; from += 400) {
      await collection.insertMany(specs.slice(from, from + 400).map((s) => documentOf(s)));
    }
    return async () => {
      await store.close();
      const raw = await rawClient();
      await raw.db(database).dropDatabase();
      await raw.close();
    };
  });

  /** Pages through a search; returns the document ids in the order returned. */
  async function walk(criteria: InstanceCriteria[], limit: number): Promise<string[]> {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 200; pages++) {
      const page = await store.admin.search(criteria, { limit, ...(cursor ? { cursor } : {}) });
      expect(page.records.length).toBeLessThanOrEqual(limit);
      seen.push(...page.records.map((r) => documentId(r.sagaType, r.id)));
      if (page.next === undefined) return seen;
      cursor = page.next;
    }
    throw new Error('search did not end within 200 pages');
  }

  function expected(match: (s: Spec) => boolean): string[] {
    return specs
      .filter(match)
      .map((s) => documentId(s.record.sagaType, s.record.id))
      .sort((a, b) => order(a).localeCompare(order(b)));
  }

  /** The search order: bucket, then `_id`. */
  const order = (id: string): string =>
    `${scanFields({ _id: id, sagaType: '', id: '', correlationKey: '', status: '' }).scanBucket}\u0000${id}`;

  it('returns every match once, in (bucket, _id) order, bucket by bucket or whole', async () => {
    const wf = (types?: string[], statuses?: string[]): InstanceCriteria => ({
      sagaTypes: [WORKFLOW_SAGA],
      labels: { ...(types ? { workflowType: types } : {}), ...(statuses ? { status: statuses } : {}) },
    });
    const cases: [string, InstanceCriteria[], (s: Spec) => boolean][] = [
      ['everything (walked)', [], () => true],
      [
        'a saga type in a status (walked)',
        [{ sagaTypes: ['scan.Order'], status: 'active' }],
        (s) => s.type === 'scan.Order' && s.status === 'active',
      ],
      [
        'parked workflows of one type (read whole)',
        [wf(['scan.Flow0'], ['parked'])],
        (s) => s.kind === 'workflow' && s.type === 'scan.Flow0' && s.status === 'parked',
      ],
      [
        'completed of both kinds with a label (read whole)',
        [
          { excludeSagaTypes: [WORKFLOW_SAGA], status: 'completed', labels: { customer: 'c-5' } },
          { ...wf(undefined, ['completed']), labels: { status: ['completed'], customer: 'c-5' } },
        ],
        (s) => s.status === 'completed' && s.record.labels?.customer === 'c-5',
      ],
      [
        'created in a time range (not pushed down: counted per bucket)',
        [{ createdFrom: new Date(base + 100_000), createdTo: new Date(base + 160_000) }],
        (s) =>
          s.record.createdAt.getTime() >= base + 100_000 && s.record.createdAt.getTime() < base + 160_000,
      ],
    ];
    for (const [name, criteria, match] of cases) {
      const want = expected(match);
      expect(want.length, name).toBeGreaterThan(0);
      expect(await walk(criteria, 37), name).toEqual(want);
    }
    expect(await walk([{ sagaTypes: [] }], 10)).toEqual([]);
  });

  it('finds an instance by id or correlation value from its term alone', async () => {
    const spec = specs[7] as Spec;
    const want = [documentId(spec.record.sagaType, spec.record.id)];
    expect(await walk([{ ids: [spec.record.correlationKey] }], 5)).toEqual(want);
    expect(await walk([{ ids: [spec.record.id] }], 5)).toEqual(want);
  });

  it('keeps the fields current on commit: a completed saga is found under its new status', async () => {
    const record: SagaRecord = { ...(specOf(STORED + 3, base).record as SagaRecord), outbox: [] };
    await store.commit({ record, expectedVersion: 0, newOutbox: [] });
    const raw = fixture.raw.db(database).collection<Document & { _id: string }>(store.collectionName);
    const id = documentId(record.sagaType, record.id);
    const before = await raw.findOne({ _id: id });
    expect(before?.scanTerms).toContain(`ts=saga:${record.sagaType}:active`);
    await store.commit({
      record: { ...record, version: 2, status: 'completed', updatedAt: new Date() },
      expectedVersion: 1,
      newOutbox: [],
    });
    const after = await raw.findOne({ _id: id });
    expect(after?.scanTerms).toContain(`ts=saga:${record.sagaType}:completed`);
    expect(after?.scanTerms).not.toContain(`ts=saga:${record.sagaType}:active`);
    const found = await walk([{ sagaTypes: [record.sagaType], status: 'completed', ids: [record.id] }], 5);
    expect(found).toEqual([id]);
  });

  it('answers a bucket query from the longhaul_scan index', async () => {
    const raw = fixture.raw.db(database).collection<Document & { _id: string }>(store.collectionName);
    const explained = await raw
      .find({ scanTerms: 't=saga:scan.Order|3a', scanBucket: '3a' })
      .sort({ scanBucket: 1, _id: 1 })
      .limit(38)
      .explain();
    const plan = JSON.stringify(explained.queryPlanner ?? explained);
    expect(plan).not.toMatch(/COLLSCAN|Seq Scan/);
    expect(plan).toMatch(/longhaul_scan/);
  });

  it('gives documents stored before the fields their fields once, at init', async () => {
    const older = specOf(STORED + 1, base);
    const raw = fixture.raw.db(database);
    await raw
      .collection<Document & { _id: string }>(store.collectionName)
      .insertOne(documentOf(older, false));
    expect(await walk([{ ids: [older.record.correlationKey] }], 5)).toEqual([]);
    await raw
      .collection<Document>(`${store.collectionName}_actions`)
      .deleteMany({ sagaType: 'longhaul.meta' });
    const again = new MongoSagaStore(storeOptions(database));
    try {
      await again.init();
    } finally {
      await again.close();
    }
    expect(await walk([{ ids: [older.record.correlationKey] }], 5)).toEqual([
      documentId(older.record.sagaType, older.record.id),
    ]);
  });
});
