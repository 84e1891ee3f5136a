/**
 * The commit of the MongoDB saga store (see `mongo-saga-store.ts`, "Commit"): the insert of a new
 * instance or the conditional update of a stored one, with the sealing of an append-only array's
 * full chunks (`chunked-state.ts`) before it.
 *
 * - **Append** (`SagaCommit.append`, the stored layout as expected): seals the chunks the new items
 *   fill, then one update conditional on the version and on `chunkedItems`, which `$push`es the
 *   new items onto the open chunk (or, when it sealed one, `$set`s the new open chunk and
 *   `$push`es the chunk ids) and `$set`s / `$unset`s the state's other fields one by one: what it
 *   sends does not grow with the array.
 * - **Whole** (a new instance, an array replaced, a document laid out otherwise): seals every full
 *   chunk of the array, then writes the state with only the open chunk inline; the chunks the
 *   instance named before are deleted once the write landed.
 */
import { type Collection, type UpdateFilter } from 'mongodb';
import { ConcurrencyError, NonRetryableError } from '../../errors.js';
import { type OutboxEntry, type SagaCommit, type SagaRecord, type StateAppend } from '../saga-store.js';
import { itemsIn, sealedItems, withItems } from './chunked-state.js';
import { type HistoryChunks } from './history-chunks.js';
import { scanFields } from './scan-terms.js';
import {
  documentId,
  earliest,
  earliestDue,
  encodeEntry,
  encodeLabels,
  encodeMutable,
  labelTerms,
  outboxKey,
  type SagaDocument,
} from './saga-document.js';
import { encodeKey, encodeState } from './value-codec.js';

/** Writes one commit (see the file header) or throws `ConcurrencyError`. */
export async function commitSaga(
  collection: Collection<SagaDocument>,
  chunks: HistoryChunks,
  commit: SagaCommit,
): Promise<void> {
  const { record, expectedVersion } = commit;
  if (record.version !== expectedVersion + 1) {
    throw new NonRetryableError(
      `${record.sagaType} ${record.id}: a commit on version ${expectedVersion} must write version ${expectedVersion + 1}, not ${record.version}`,
      { code: 'invalid-commit' },
    );
  }
  const _id = documentId(record.sagaType, record.id);
  if (expectedVersion === 0) return insert(collection, chunks, _id, commit);
  if (commit.append && (await appendTo(collection, chunks, _id, commit, commit.append))) return;
  return rewrite(collection, chunks, _id, commit);
}

/** The field the commit keeps chunked and its items, if the state holds that array. */
function chunked(commit: SagaCommit): { field: string; items: readonly unknown[] } | undefined {
  const field = commit.appendOnly ?? commit.append?.field;
  const items = field === undefined ? undefined : itemsIn(commit.record.state, field);
  return field !== undefined && items ? { field, items } : undefined;
}

/** Seals every full chunk of the commit's array; the record to store (open chunk inline) and the layout. */
async function sealAll(
  chunks: HistoryChunks,
  _id: string,
  commit: SagaCommit,
): Promise<{
  record: Omit<SagaRecord, 'outbox'>;
  layout?: Pick<SagaDocument, 'chunkField' | 'chunks' | 'chunkedItems'>;
}> {
  const array = chunked(commit);
  if (!array) return { record: commit.record };
  const count = sealedItems(array.items.length);
  const ids = await chunks.seal(_id, array.items, 0, count, commit.record.version);
  return {
    record: {
      ...commit.record,
      state: withItems(commit.record.state, array.field, array.items.slice(count)),
    },
    layout: { chunkField: array.field, chunks: ids, chunkedItems: count },
  };
}

async function insert(
  collection: Collection<SagaDocument>,
  chunks: HistoryChunks,
  _id: string,
  commit: SagaCommit,
): Promise<void> {
  const { newOutbox } = commit;
  const { record, layout } = await sealAll(chunks, _id, commit);
  const since = earliestDue(newOutbox);
  const oldest = earliest(newOutbox);
  const doc: SagaDocument = {
    _id,
    sagaType: record.sagaType,
    id: record.id,
    correlationKey: record.correlationKey,
    ...encodeMutable(record),
    createdAt: record.createdAt,
    outbox: Object.fromEntries(newOutbox.map((e, i) => [outboxKey(e.id), encodeEntry(e, record.version, i)])),
    ...layout,
  };
  if (record.retainUntil) doc.retainUntil = record.retainUntil;
  if (record.labels) {
    doc.labels = encodeLabels(record.labels);
    doc.labelTerms = labelTerms(record.sagaType, record.labels);
  }
  if (since) doc.outboxSince = since;
  if (oldest) doc.outboxOldest = oldest;
  Object.assign(doc, scanFields({ ...doc, labels: record.labels }));
  try {
    await collection.insertOne(doc);
  } catch (error) {
    if (isDuplicateKey(error)) {
      throw new ConcurrencyError(`${record.sagaType} '${record.correlationKey}' already exists`, {
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * The commit as an append to the stored array; resolves false (nothing written) when the document
 * is at the expected version but laid out otherwise, so the caller rewrites it whole.
 */
async function appendTo(
  collection: Collection<SagaDocument>,
  chunks: HistoryChunks,
  _id: string,
  commit: SagaCommit,
  append: StateAppend,
): Promise<boolean> {
  const { record, expectedVersion } = commit;
  const items = itemsIn(record.state, append.field);
  if (!items || items.length < append.from) return false;
  const stored = sealedItems(append.from);
  const count = sealedItems(items.length);
  const ids = await chunks.seal(_id, items, stored, count, record.version);
  const { set, unset } = commonUpdate(_id, record, commit.newOutbox);
  const { [append.field]: _items, ...rest } = record.state as Record<string, unknown>;
  for (const [key, value] of Object.entries(encodeState(rest) as Record<string, unknown>))
    set[`state.${key}`] = value;
  for (const [key, value] of Object.entries(rest))
    if (value === undefined) unset[`state.${encodeKey(key)}`] = '';
  for (const key of append.removed) unset[`state.${encodeKey(key)}`] = '';
  const path = `state.${encodeKey(append.field)}`;
  const push: Record<string, { $each: unknown[] }> = {};
  if (count === stored) {
    if (items.length > append.from)
      push[path] = { $each: encodeState(items.slice(append.from)) as unknown[] };
  } else {
    set[path] = encodeState(items.slice(count));
    set.chunkedItems = count;
    push.chunks = { $each: ids };
  }
  set.chunkField = append.field;
  const update = updateOf(set, unset, commit.newOutbox);
  if (Object.keys(push).length > 0) update.$push = push;
  const filter = { _id, version: expectedVersion, chunkedItems: stored, chunkField: append.field };
  const result = await collection.updateOne(filter, update);
  if (result.matchedCount === 1) return true;
  const now = await collection.findOne({ _id }, { projection: { version: 1 } });
  if (now?.version === expectedVersion) return false;
  throw conflict(record, expectedVersion);
}

/** The commit as a whole new state; deletes the chunks the instance named before. */
async function rewrite(
  collection: Collection<SagaDocument>,
  chunks: HistoryChunks,
  _id: string,
  commit: SagaCommit,
): Promise<void> {
  const { expectedVersion } = commit;
  const field = commit.appendOnly ?? commit.append?.field;
  const before =
    field === undefined
      ? undefined
      : await collection.findOne({ _id, version: expectedVersion }, { projection: { chunks: 1 } });
  if (field !== undefined && !before) throw conflict(commit.record, expectedVersion);
  const { record, layout } = await sealAll(chunks, _id, commit);
  const { set, unset } = commonUpdate(_id, record, commit.newOutbox);
  set.state = encodeState(record.state);
  if (layout) Object.assign(set, layout);
  else if (field !== undefined) Object.assign(unset, { chunkField: '', chunks: '', chunkedItems: '' });
  const result = await collection.updateOne(
    { _id, version: expectedVersion },
    updateOf(set, unset, commit.newOutbox),
  );
  if (result.matchedCount === 0) throw conflict(record, expectedVersion);
  const kept = new Set(layout?.chunks ?? []);
  const dropped = (Array.isArray(before?.chunks) ? before.chunks : []).filter((id) => !kept.has(id));
  await chunks.discard(_id, dropped);
}

/**
 * The `$set` and `$unset` of every update: the record's fields but its state (the caller writes
 * that, whole or field by field), its new outbox entries, labels, search fields.
 */
function commonUpdate(
  _id: string,
  record: Omit<SagaRecord, 'outbox'>,
  newOutbox: readonly OutboxEntry[],
): { set: Record<string, unknown>; unset: Record<string, ''> } {
  const set: Record<string, unknown> = { ...encodeMutable({ ...record, state: null }) };
  delete set.state;
  const unset: Record<string, ''> = {};
  newOutbox.forEach((entry, i) => {
    set[`outbox.${outboxKey(entry.id)}`] = encodeEntry(entry, record.version, i);
  });
  if (record.retainUntil) set.retainUntil = record.retainUntil;
  else unset.retainUntil = '';
  if (record.labels) {
    set.labels = encodeLabels(record.labels);
    set.labelTerms = labelTerms(record.sagaType, record.labels);
  } else {
    unset.labels = '';
    unset.labelTerms = '';
  }
  Object.assign(set, scanFields({ ...record, _id, labels: record.labels }));
  return { set, unset };
}

function updateOf(
  set: Record<string, unknown>,
  unset: Record<string, ''>,
  newOutbox: readonly OutboxEntry[],
): UpdateFilter<SagaDocument> {
  const update: UpdateFilter<SagaDocument> = { $set: set };
  if (Object.keys(unset).length > 0) update.$unset = unset;
  const since = earliestDue(newOutbox);
  const oldest = earliest(newOutbox);
  if (since && oldest) update.$min = { outboxSince: since, outboxOldest: oldest };
  return update;
}

function conflict(record: Omit<SagaRecord, 'outbox'>, expectedVersion: number): ConcurrencyError {
  return new ConcurrencyError(
    `${record.sagaType} ${record.id}: expected version ${expectedVersion}, found another (or none)`,
  );
}

export function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}
