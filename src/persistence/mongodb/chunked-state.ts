/**
 * How the MongoDB store splits an instance's append-only array (a workflow's history, see
 * `SagaCommit.appendOnly`) between its document and sealed chunks, and names the chunks.
 *
 * **Layout.** An array of `n` items keeps its first {@link sealedItems}`(n)` items (a whole number
 * of chunks of {@link CHUNK_SIZE}) in chunk documents, listed in order under the instance's
 * `chunks`, and only the rest (fewer than {@link CHUNK_SIZE}: the open chunk) inline in the state.
 * The layout is a function of `n` alone, so a commit that appends knows from the stored count which
 * chunks it must seal without reading the document; the commit is conditional on `chunkedItems`,
 * so a document laid out otherwise (written before chunks existed) is rewritten whole instead.
 *
 * **Chunk ids** are `<instance _id>#<chunk number>@<version of the commit that sealed it>#<hash of
 * its encoded items>`: a retry of the same commit inserts the same id (a duplicate key, ignored),
 * and a chunk inserted by a commit that then lost its conditional write is never named by the
 * instance, so it is never read (an orphan, harmless; see `history-chunks.ts`).
 */
import { createHash } from 'node:crypto';

/** Items per sealed chunk. */
export const CHUNK_SIZE = 100;

/** How many of `count` items are kept in sealed chunks. */
export function sealedItems(count: number): number {
  return count - (count % CHUNK_SIZE);
}

/** The id of chunk `no` of instance `owner`, sealed by the commit of `version`, holding `encoded`. */
export function chunkId(owner: string, no: number, version: number, encoded: unknown): string {
  const hash = createHash('sha256').update(JSON.stringify(encoded)).digest('hex').slice(0, 24);
  return `${owner}#${no}@${version}#${hash}`;
}

/** The array in `state`'s top-level `field`, if the state is a document holding one there. */
export function itemsIn(state: unknown, field: string): readonly unknown[] | undefined {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return undefined;
  const items = (state as Record<string, unknown>)[field];
  return Array.isArray(items) ? items : undefined;
}

/** `state` with its top-level `field` replaced by `items` (a new object; `state` is left as is). */
export function withItems(state: unknown, field: string, items: readonly unknown[]): unknown {
  return { ...(state as Record<string, unknown>), [field]: items };
}
