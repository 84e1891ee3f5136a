/**
 * The instance admin port on MongoDB (or FerretDB): search and counts over the saga collection,
 * and the action log in its own collection (`<saga collection>_actions`, `_id` = the action id).
 *
 * Search walks the 256 buckets of `scan-terms.ts` in order, one query per bucket: the criteria
 * (an `$or` of them) plus one equality on `scanTerms` (`<term>|<bucket>`) and, for a label, one
 * on `labelTerms`, sorted by `(scanBucket, _id)` and paged by `_id` within the bucket. Those
 * equalities are all FerretDB pushes down, so a query reads one bucket's matches (100,000
 * instances: ~390 documents at most), and MongoDB reads them in order from `longhaul_scan`. When
 * the first buckets show that the term matches few instances, the rest of it is read in one query
 * (`readWhole`); when the criteria hold conditions FerretDB checks in memory (times, outbox, a
 * second label), the cost is judged by counting the pushed-down matches of the bucket instead.
 * A call stops after `SEARCH_BUDGET_MS` and returns the page so far with a cursor. "Outbox older than" matches
 * the `outboxOldest` marker, which may be earlier than the true oldest entry after a sweep (see
 * `mongo-saga-store.ts`), so the decoded outbox is checked again and false matches are dropped.
 */
import { type Collection, type Document, type Filter } from 'mongodb';
import { LonghaulError } from '../../errors.js';
import {
  type InstanceAdminStore,
  type InstanceCountRow,
  type InstanceCriteria,
  type StoredAction,
} from '../instance-admin.js';
import { type SagaRecord } from '../saga-store.js';
import { labelTerm, type SagaDocument, WORKFLOW_TYPE } from './saga-document.js';
import { scanPlanOf } from './scan-plan.js';
import { bucketTerm, FIRST_BUCKET, nextBucket, SCAN_BUCKETS, scanFields } from './scan-terms.js';
import { encodeKey } from './value-codec.js';

/** An action as stored. */
interface ActionDocument extends Omit<StoredAction, 'id'> {
  _id: string;
}

/** The action log's record that older instances have their search fields. */
const SCAN_FIELDS_MARKER = 'longhaul.meta/scan-fields-v1';

/** A search reads the rest of its term at once only when it holds about this many instances or fewer. */
const WHOLE_TERM_MAX = 2000;

/**
 * Whether to read the rest of a term at once rather than bucket by bucket, given the matches per
 * bucket so far and the items still wanted: when the term is small, and reading it costs less
 * than the queries the walk would still need. On FerretDB a query costs about what decoding 20
 * documents does (measured: ~3 ms a query, ~0.15 ms a document at rest; ~15 and ~0.6 at load 12).
 */
function readWhole(perBucket: number, wanted: number): boolean {
  const total = perBucket * SCAN_BUCKETS;
  const queriesLeft = perBucket > 0 ? wanted / (perBucket * GROUP_SIZE) : Infinity;
  return total <= WHOLE_TERM_MAX && total <= 20 * queriesLeft;
}

/** How the walk goes on: the rest at once, a group of 16 buckets when they hold few, else a bucket. */
function levelFor(perBucket: number, wanted: number): 'bucket' | 'group' | 'whole' {
  if (readWhole(perBucket, wanted)) return 'whole';
  return perBucket * GROUP_SIZE <= GROUP_MAX ? 'group' : 'bucket';
}

/** Buckets in a group (the first hex digit of the bucket names the group). */
const GROUP_SIZE = 16;

/** A group is read at once when it is expected to hold this many matches or fewer. */
const GROUP_MAX = 800;

function groupOf(bucket: string): string {
  return bucket.slice(0, 1);
}

function lastOfGroup(group: string): string {
  return `${group}f`;
}

/** A search call walking buckets returns what it found (and a cursor) after about this long. */
const SEARCH_BUDGET_MS = 1000;

/** Where a search stands: a bucket, and the last `_id` read in it (none: from its start). */
interface ScanPosition {
  readonly bucket: string;
  readonly after?: string;
}

const START: ScanPosition = { bucket: FIRST_BUCKET };

function cursorOf(position: ScanPosition): string {
  return `s1:${position.bucket}:${position.after ?? ''}`;
}

function parseCursor(cursor: string): ScanPosition {
  const match = /^s1:([0-9a-f]{2}):(.*)$/s.exec(cursor);
  if (!match) throw new LonghaulError('invalid-query', `cursor: not a cursor of this store: ${cursor}`);
  const [, bucket, after] = match as unknown as [string, string, string];
  return after === '' ? { bucket } : { bucket, after };
}

/** @internal `MongoSagaStore.admin`. */
export class MongoInstanceAdmin implements InstanceAdminStore {
  constructor(
    private readonly collection: Collection<SagaDocument>,
    private readonly log: Collection<ActionDocument>,
    /** The record without the sealed part of its history (counts read no state). */
    private readonly decode: (doc: SagaDocument) => SagaRecord,
    /** The whole record, its history's sealed chunks joined (what a search returns). */
    private readonly read: (doc: SagaDocument) => Promise<SagaRecord>,
  ) {}

  /** Creates the action log's index and gives older documents their search fields (idempotent). */
  async init(): Promise<void> {
    await this.log.createIndexes([{ key: { sagaType: 1, sagaId: 1, at: -1 }, name: 'longhaul_actions' }]);
    await this.backfillScanFields();
  }

  /**
   * Once per collection (a marker in the action log says it is done): writes the search fields on
   * documents stored before they existed, each only if no commit changed it meanwhile (a commit
   * writes them itself). Reads the whole collection once; a new collection has nothing to do.
   */
  private async backfillScanFields(): Promise<void> {
    if (await this.log.findOne({ _id: SCAN_FIELDS_MARKER })) return;
    const older = this.collection.find(
      { scanTerms: { $exists: false } },
      { projection: { _id: 1, sagaType: 1, id: 1, correlationKey: 1, status: 1, labels: 1, version: 1 } },
    );
    for await (const doc of older) {
      // Only `workflowType` and `status` are read from the labels: keys that encoding leaves as they are.
      await this.collection.updateOne({ _id: doc._id, version: doc.version }, { $set: scanFields(doc) });
    }
    const marker: ActionDocument = {
      _id: SCAN_FIELDS_MARKER,
      sagaType: 'longhaul.meta',
      sagaId: 'scan-fields',
      at: new Date(),
      action: 'backfill-scan-fields',
      reason: 'search fields written on the instances stored before them',
      outcome: 'done',
    };
    await this.log.replaceOne({ _id: SCAN_FIELDS_MARKER }, marker, { upsert: true });
  }

  async search(
    anyOf: readonly InstanceCriteria[],
    page: { readonly limit: number; readonly cursor?: string },
  ): Promise<{ records: SagaRecord[]; next?: string }> {
    const alternatives = anyOf.filter((c) => c.sagaTypes === undefined || c.sagaTypes.length > 0);
    if (anyOf.length > 0 && alternatives.length === 0) return { records: [] };
    const verify = alternatives.some((c) => c.outboxOlderThan !== undefined);
    const plan = scanPlanOf(alternatives);
    const base = queryOf(alternatives) as Document;
    const started = Date.now();
    const records: SagaRecord[] = [];
    let position: ScanPosition | undefined = page.cursor !== undefined ? parseCursor(page.cursor) : START;
    let level: 'bucket' | 'group' | 'whole' = plan.whole === true ? 'whole' : 'bucket';
    let buckets = 0;
    let matched = 0;
    while (position !== undefined) {
      const wanted = page.limit - records.length;
      const { bucket, after }: ScanPosition = position;
      const query: Document = { ...base };
      const group = groupOf(bucket);
      if (level !== 'bucket') {
        // The rest of the term (or of the collection, when it is small) at once, or of its group of
        // 16 buckets, from the position on.
        if (level === 'group') query.scanTerms = bucketTerm(plan.term, group);
        else if (plan.term !== undefined) query.scanTerms = plan.term;
        const rest = [
          { scanBucket: level === 'group' ? { $gt: bucket, $lte: lastOfGroup(group) } : { $gt: bucket } },
          { scanBucket: bucket, _id: { $gt: after ?? '' } },
        ];
        query.$and = [...((base.$and as Document[] | undefined) ?? []), { $or: rest }];
      } else {
        query.scanTerms = bucketTerm(plan.term, bucket);
        query.scanBucket = bucket;
        if (after !== undefined) query._id = { $gt: after };
      }
      const docs = await this.collection
        .find(query as Filter<SagaDocument>)
        .sort({ scanBucket: 1, _id: 1 })
        .limit(wanted + 1)
        .toArray();
      for (const doc of docs.slice(0, wanted)) {
        const record = await this.read(doc);
        if (!verify || verifiesOutbox(record, alternatives)) records.push(record);
        position = { bucket: doc.scanBucket ?? bucket, after: doc._id };
      }
      if (docs.length > wanted) {
        if (records.length === page.limit) return { records, next: cursorOf(position) };
        continue;
      }
      if (level === 'whole') return { records };
      // This bucket (or group) is done: on to the next, by bucket, by group or the rest at once.
      const last = level === 'group' ? lastOfGroup(group) : bucket;
      const next = nextBucket(last);
      if (next === undefined) return { records };
      position = { bucket: next };
      const read = Number.parseInt(last, 16) - Number.parseInt(bucket, 16) + 1;
      // Without exact matches, the first bucket's pushed-down count stands for the next ones.
      matched += plan.exact
        ? docs.length
        : buckets === 0
          ? await this.countInBucket(plan.term, bucket, base)
          : (matched / buckets) * read;
      buckets += read;
      level = levelFor(matched / buckets, page.limit - records.length);
      if (records.length === page.limit) return { records, next: cursorOf(position) };
      if (Date.now() - started > SEARCH_BUDGET_MS) return { records, next: cursorOf(position) };
    }
    return { records };
  }

  /**
   * How many documents of one bucket the pushed-down equalities of a search match: the cost of
   * reading them, when conditions FerretDB checks in memory (times, outbox) make the matches fewer.
   */
  private countInBucket(term: string | undefined, bucket: string, base: Document): Promise<number> {
    const query: Document = { scanTerms: bucketTerm(term, bucket), scanBucket: bucket };
    for (const key of ['sagaType', 'labelTerms']) {
      if (typeof base[key] === 'string') query[key] = base[key];
    }
    return this.collection.countDocuments(query as Filter<SagaDocument>);
  }

  async count(anyOf: readonly InstanceCriteria[], labelKeys: readonly string[]): Promise<InstanceCountRow[]> {
    const encoded = labelKeys.map(encodeKey);
    if (anyOf.some((c) => c.outboxOlderThan !== undefined)) return this.countByReading(anyOf, labelKeys);
    const group: Record<string, string> = { t: '$sagaType', s: '$status' };
    encoded.forEach((k, i) => (group[`l${i}`] = `$labels.${k}`));
    const rows = await this.collection
      .aggregate<{ _id: Record<string, unknown>; n: number }>([
        { $match: queryOf(anyOf) },
        { $group: { _id: group, n: { $sum: 1 } } },
      ])
      .toArray();
    return rows.map((row) => {
      const labels: Record<string, string> = {};
      labelKeys.forEach((k, i) => {
        const v = row._id[`l${i}`];
        if (typeof v === 'string') labels[k] = v;
      });
      return {
        sagaType: String(row._id.t),
        status: row._id.s === 'completed' ? 'completed' : 'active',
        labels,
        count: row.n,
      };
    });
  }

  /** Counts with an outbox condition: the matches are read and checked (see the file header). */
  private async countByReading(
    anyOf: readonly InstanceCriteria[],
    labelKeys: readonly string[],
  ): Promise<InstanceCountRow[]> {
    const rows = new Map<string, InstanceCountRow>();
    for await (const doc of this.collection.find(queryOf(anyOf))) {
      const record = this.decode(doc);
      if (!verifiesOutbox(record, anyOf)) continue;
      const labels: Record<string, string> = {};
      for (const k of labelKeys) if (record.labels?.[k] !== undefined) labels[k] = record.labels[k];
      const key = JSON.stringify([record.sagaType, record.status, labelKeys.map((k) => labels[k] ?? null)]);
      const count = (rows.get(key)?.count ?? 0) + 1;
      rows.set(key, { sagaType: record.sagaType, status: record.status, labels, count });
    }
    return [...rows.values()];
  }

  async recordAction(action: StoredAction): Promise<void> {
    const { id, ...rest } = action;
    const doc: ActionDocument = { _id: id, ...rest };
    await this.log.replaceOne({ _id: id }, doc, { upsert: true });
  }

  async actions(sagaType: string, sagaId: string | undefined, limit: number): Promise<StoredAction[]> {
    const docs = await this.log
      .find(sagaId === undefined ? { sagaType } : { sagaType, sagaId })
      .sort({ at: -1, _id: -1 })
      .limit(limit)
      .toArray();
    return docs.map(({ _id, ...rest }) => {
      const action: StoredAction = {
        id: _id,
        sagaType: rest.sagaType,
        sagaId: rest.sagaId,
        at: rest.at,
        action: rest.action,
        reason: rest.reason,
        outcome: rest.outcome === 'failed' ? 'failed' : 'done',
        ...(rest.by !== undefined && rest.by !== null ? { by: rest.by } : {}),
        ...(rest.detail !== undefined && rest.detail !== null ? { detail: rest.detail } : {}),
        ...(rest.error !== undefined && rest.error !== null ? { error: rest.error } : {}),
      };
      return action;
    });
  }
}

/** The query of a set of criteria: an `$or` of them, or one alone. */
function queryOf(anyOf: readonly InstanceCriteria[]): Filter<SagaDocument> {
  if (anyOf.length === 0) return {};
  const [only] = anyOf;
  if (anyOf.length === 1 && only) return criteriaQuery(only);
  const alternatives = anyOf.map(criteriaQuery);
  // A label term every alternative requires goes on top too: FerretDB pushes a top-level
  // equality down (to its index) but not one inside `$or`.
  const terms = new Set(alternatives.map((q) => (q as Document).labelTerms as unknown));
  const [term] = terms;
  return (
    terms.size === 1 && typeof term === 'string'
      ? { labelTerms: term, $or: alternatives }
      : { $or: alternatives }
  ) as Filter<SagaDocument>;
}

function criteriaQuery(c: InstanceCriteria): Filter<SagaDocument> {
  const q: Document = {};
  if (c.sagaTypes) {
    const [only] = c.sagaTypes;
    q.sagaType = c.sagaTypes.length === 1 && only !== undefined ? only : { $in: [...c.sagaTypes] };
  }
  if (c.excludeSagaTypes && c.excludeSagaTypes.length > 0) {
    q.sagaType = c.sagaTypes
      ? { $in: c.sagaTypes.filter((t) => !c.excludeSagaTypes?.includes(t)) }
      : { $nin: [...c.excludeSagaTypes] };
  }
  if (c.status) q.status = c.status;
  let term: string | undefined;
  for (const [key, value] of Object.entries(c.labels ?? {})) {
    q[`labels.${encodeKey(key)}`] = typeof value === 'string' ? value : { $in: [...value] };
    const own = (key === 'workflowType' || key === 'status') && c.sagaTypes?.includes(WORKFLOW_TYPE);
    if (term === undefined && typeof value === 'string' && !own) term = labelTerm(key, value);
  }
  // One user label as an equality on the indexed terms: the index narrows, the rest filters.
  if (term !== undefined) q.labelTerms = term;
  const range = (from?: Date, to?: Date): Document | undefined =>
    from || to ? { ...(from ? { $gte: from } : {}), ...(to ? { $lt: to } : {}) } : undefined;
  const created = range(c.createdFrom, c.createdTo);
  if (created) q.createdAt = created;
  const updated = range(c.updatedFrom, c.updatedTo);
  if (updated) q.updatedAt = updated;
  if (c.outboxOlderThan) q.outboxOldest = { $lt: c.outboxOlderThan };
  if (c.ids) q.$or = [{ id: { $in: [...c.ids] } }, { correlationKey: { $in: [...c.ids] } }];
  return q as Filter<SagaDocument>;
}

/** Whether a record read for an outbox condition really has an entry that old. */
function verifiesOutbox(record: SagaRecord, anyOf: readonly InstanceCriteria[]): boolean {
  return anyOf.some(
    (c) =>
      c.outboxOlderThan === undefined ||
      record.outbox.some((e) => e.createdAt.getTime() < (c.outboxOlderThan as Date).getTime()),
  );
}
