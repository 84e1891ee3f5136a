/**
 * The outbox's conditional writes on a saga document: claims, failed attempts, and the repair of
 * the `outboxSince` / `outboxOldest` markers (see `mongo-saga-store.ts` for the layout).
 */
import { type Collection, type Filter } from 'mongodb';
import { type OutboxClaim } from '../saga-store.js';
import { earliest, earliestDue, outboxKey, type SagaDocument } from './saga-document.js';

/** `SagaStore.claimOutbox` on one document (see the store's header). */
export async function claimEntries(
  collection: Collection<SagaDocument>,
  _id: string,
  claims: readonly OutboxClaim[],
  lease: { readonly token: string; readonly until: Date },
): Promise<boolean> {
  if (claims.length === 0) return true;
  const filter: Record<string, unknown> = { _id };
  const set: Record<string, unknown> = {};
  const inc: Record<string, number> = { outboxRev: 1 };
  for (const { entryId, expectedClaim } of claims) {
    const path = `outbox.${outboxKey(entryId)}`;
    filter[`${path}.id`] = entryId;
    filter[`${path}.claim`] = expectedClaim ?? null;
    set[`${path}.claim`] = lease.token;
    set[`${path}.nextAttemptAt`] = lease.until;
    inc[`${path}.attempts`] = 1;
  }
  const result = await collection.updateOne(filter as Filter<SagaDocument>, { $set: set, $inc: inc });
  return result.matchedCount === 1;
}

/** `SagaStore.recordOutboxFailure` on one document. */
export async function recordFailure(
  collection: Collection<SagaDocument>,
  _id: string,
  entryId: string,
  token: string,
  failure: { readonly nextAttemptAt: Date; readonly error: string },
): Promise<boolean> {
  const path = `outbox.${outboxKey(entryId)}`;
  const result = await collection.updateOne(
    {
      _id,
      [`${path}.id`]: entryId,
      [`${path}.claim`]: token,
    } as Filter<SagaDocument>,
    {
      $set: { [`${path}.nextAttemptAt`]: failure.nextAttemptAt, [`${path}.lastError`]: failure.error },
      $min: { outboxSince: failure.nextAttemptAt },
      $inc: { outboxRev: 1 },
    },
  );
  return result.matchedCount === 1;
}

/**
 * Brings `outboxSince` and `outboxOldest` in line with the outbox of `doc` (as just read):
 * removes them when the outbox is empty, raises them to the earliest due time and the oldest
 * entry otherwise. Conditional on the version and `outboxRev` read, since only commits add
 * entries (and change the version) and every other write to the entries changes `outboxRev`.
 */
export async function refreshMarkers(collection: Collection<SagaDocument>, doc: SagaDocument): Promise<void> {
  const outbox = doc.outbox;
  if (typeof outbox !== 'object' || outbox === null) return;
  const entries = Object.values(outbox as Record<string, unknown>).filter(
    (e): e is { createdAt: Date; nextAttemptAt?: Date } =>
      (e as { createdAt?: unknown } | null)?.createdAt instanceof Date &&
      ((e as { nextAttemptAt?: unknown }).nextAttemptAt === undefined ||
        (e as { nextAttemptAt?: unknown }).nextAttemptAt instanceof Date),
  );
  if (entries.length !== Object.keys(outbox).length) return; // malformed: leave it to be reported
  const since = earliestDue(entries);
  const oldest = earliest(entries);
  const unchanged =
    sameTime(doc.outboxSince, since) && sameTime(doc.outboxOldest, oldest) && doc.outboxRev !== undefined;
  if (unchanged) return;
  const condition = { _id: doc._id, version: doc.version, outboxRev: doc.outboxRev ?? null };
  if (since === undefined || oldest === undefined) {
    await collection.updateOne(condition as Filter<SagaDocument>, {
      $unset: { outboxSince: '', outboxOldest: '' },
      $inc: { outboxRev: 1 },
    });
  } else {
    await collection.updateOne(condition as Filter<SagaDocument>, {
      $set: { outboxSince: since, outboxOldest: oldest },
      $inc: { outboxRev: 1 },
    });
  }
}

function sameTime(a: unknown, b: Date | undefined): boolean {
  return b === undefined ? a === undefined : a instanceof Date && a.getTime() === b.getTime();
}
