/**
 * # Sealed chunks of append-only arrays
 *
 * The side collection (`<sagas collection>_chunks`) where the MongoDB saga store keeps the sealed
 * part of an instance's append-only array (see `chunked-state.ts` for the layout and the ids).
 * One document per chunk: `{ _id, owner, no, version, items }`, never updated.
 *
 * **Write before commit.** A commit that seals chunks inserts them before its conditional write
 * of the instance, so the instance never names a chunk that is not stored. A duplicate id is the
 * same chunk (a retried commit) and is ignored.
 *
 * **Orphans.** A chunk whose commit then lost (a version conflict, a crash before the write) is
 * named by no instance and never read. So are the chunks an instance stopped naming when a commit
 * rewrote its array (a reset, `continueAsNew`) or completed it: the store deletes those after the
 * commit and with the instance (`delete`, expired tombstones), best effort. Orphans left by lost
 * commits or a failed deletion stay until swept: a chunk is an orphan exactly when its `owner`
 * does not list its `_id` in `chunks` (no sweeper exists yet; they cost space only).
 *
 * Reads go by `_id` (the only field FerretDB v1 pushes down), so no index beyond `_id` is needed.
 */
import { type Collection, MongoBulkWriteError } from 'mongodb';
import { type Logger } from '../../util/logger.js';
import { mapInChunks } from './connection.js';
import { CorruptDocumentError } from './errors.js';
import { chunkId, CHUNK_SIZE } from './chunked-state.js';
import { decodeState, DecodeProblem, encodeState } from './value-codec.js';

/** One sealed chunk as stored. */
export interface ChunkDocument {
  _id: string;
  /** The `_id` of the instance that sealed it. */
  owner: string;
  /** Its position: items `no * 100` to `no * 100 + 99` of the array. */
  no: number;
  /** The version of the commit that sealed it. */
  version: number;
  /** The items, encoded as the state is (`value-codec.ts`). */
  items: unknown[];
}

/** Chunk reads or deletions in flight at once. */
const PARALLELISM = 8;

/** @internal The chunk collection of a `MongoSagaStore`. */
export class HistoryChunks {
  constructor(
    private readonly collection: Collection<ChunkDocument>,
    private readonly logger: Logger,
  ) {}

  get name(): string {
    return this.collection.collectionName;
  }

  /**
   * Seals `items[from, to)` (whole chunks: both multiples of 100) of instance `owner` in the
   * commit of `version`; returns their ids in order. Idempotent per (content, version).
   */
  async seal(
    owner: string,
    items: readonly unknown[],
    from: number,
    to: number,
    version: number,
  ): Promise<string[]> {
    const docs: ChunkDocument[] = [];
    for (let start = from; start < to; start += CHUNK_SIZE) {
      const no = start / CHUNK_SIZE;
      const encoded = encodeState(items.slice(start, start + CHUNK_SIZE)) as unknown[];
      docs.push({ _id: chunkId(owner, no, version, encoded), owner, no, version, items: encoded });
    }
    if (docs.length === 0) return [];
    try {
      await this.collection.insertMany(docs, { ordered: false });
    } catch (error) {
      if (!onlyDuplicates(error)) throw error;
    }
    return docs.map((d) => d._id);
  }

  /**
   * The items of the chunks `ids`, in that order, checked: each must exist, belong to `owner` and
   * hold a whole chunk, `count` items in all; otherwise `CorruptDocumentError` on the instance.
   */
  async read(collection: string, owner: string, ids: readonly string[], count: number): Promise<unknown[]> {
    const docs = await mapInChunks([...ids], PARALLELISM, (_id) => this.collection.findOne({ _id }));
    const items: unknown[] = [];
    docs.forEach((doc, i) => {
      const problem =
        doc === null
          ? 'is missing'
          : doc.owner !== owner || !Array.isArray(doc.items)
            ? 'is not a chunk of this instance'
            : undefined;
      if (problem) throw new CorruptDocumentError(collection, owner, `chunk ${ids[i]} ${problem}`);
      try {
        items.push(...(decodeState(doc!.items) as unknown[]));
      } catch (error) {
        if (!(error instanceof DecodeProblem)) throw error;
        throw new CorruptDocumentError(collection, owner, `chunk ${ids[i]}: ${error.message}`);
      }
    });
    if (items.length !== count) {
      throw new CorruptDocumentError(
        collection,
        owner,
        `its chunks hold ${items.length} items, the instance counts ${count}`,
      );
    }
    return items;
  }

  /** Deletes chunks an instance no longer names; a failure is logged and leaves orphans. */
  async discard(owner: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    try {
      await mapInChunks([...ids], PARALLELISM, (_id) => this.collection.deleteOne({ _id, owner }));
    } catch (error) {
      this.logger.warn('chunks no longer used were not deleted (orphans, never read)', {
        collection: this.name,
        owner,
        chunks: ids.length,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}

/** True when every write error of an insert is a duplicate key (the chunks are stored already). */
function onlyDuplicates(error: unknown): boolean {
  if (error instanceof MongoBulkWriteError) {
    const errors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    return errors.length > 0 && errors.every((e) => e.code === 11000);
  }
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}
