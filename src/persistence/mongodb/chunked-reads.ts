/**
 * Reading an instance whose append-only array is partly sealed in chunks (`chunked-state.ts`):
 * the record returned always holds the whole array, the sealed items first. They come from the
 * caller's hint (`FindOptions.known`) when it holds the array at the version stored, else from
 * the chunk documents the instance names (never from any other chunk: orphans are not read).
 */
import { type KnownItems, type SagaRecord } from '../saga-store.js';
import { CorruptDocumentError } from './errors.js';
import { itemsIn, withItems } from './chunked-state.js';
import { type HistoryChunks } from './history-chunks.js';
import { type SagaDocument } from './saga-document.js';

/** The sealed items `doc` names, if any: the field, the chunk ids and their count of items. */
export function sealedPart(
  collection: string,
  doc: SagaDocument,
): { field: string; ids: readonly string[]; count: number } | undefined {
  const { chunks, chunkField, chunkedItems } = doc;
  if (chunks === undefined || chunks === null || (Array.isArray(chunks) && chunks.length === 0))
    return undefined;
  if (
    !Array.isArray(chunks) ||
    !chunks.every((id) => typeof id === 'string') ||
    typeof chunkField !== 'string' ||
    typeof chunkedItems !== 'number'
  ) {
    throw new CorruptDocumentError(
      collection,
      doc._id,
      'chunks, chunkField and chunkedItems must be a list of ids, a field name and a count',
    );
  }
  return { field: chunkField, ids: chunks, count: chunkedItems };
}

/**
 * `record` (decoded from `doc`, whose state holds only the open chunk inline) with its sealed
 * items joined in front: taken from `known` when it is at the stored version and covers them,
 * else read from the chunks.
 */
export async function joinChunks(
  collection: string,
  doc: SagaDocument,
  record: SagaRecord,
  chunks: HistoryChunks,
  known?: KnownItems,
): Promise<SagaRecord> {
  const sealed = sealedPart(collection, doc);
  if (!sealed) return record;
  const inline = record.state === null ? undefined : itemsIn(record.state, sealed.field);
  if (!inline) {
    throw new CorruptDocumentError(collection, doc._id, `state.${sealed.field} is not an array`);
  }
  const prefix =
    known !== undefined &&
    known.version === record.version &&
    known.field === sealed.field &&
    known.items.length >= sealed.count
      ? known.items.slice(0, sealed.count)
      : await chunks.read(collection, doc._id, sealed.ids, sealed.count);
  return { ...record, state: withItems(record.state, sealed.field, prefix.concat(inline)) };
}
