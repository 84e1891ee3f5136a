/**
 * The stored shape of a timeout in the MongoDB timeout store, its decoding, and the upgrade of
 * documents written by earlier versions.
 *
 * Current shape: `state` (`waiting` | `leased` | `dead`) and `availableAt`, the store time from
 * which the timeout can be claimed: its due time while waiting (or its retry time after a failed
 * attempt), its lease end while leased, null once dead-lettered. The claim reads
 * `{ state: 'waiting', availableAt: { $lte: now } }` in `availableAt` order from one index
 * `{ state, availableAt, _id }`: a range of that index holding only claimable timeouts, however many
 * are leased or dead-lettered (docs/production.md explains it).
 *
 * Earlier versions stored `dueAt`, `leaseOwner`, `leaseUntil` only; {@link upgradeLegacy} gives such
 * a document its `state`, `availableAt` and `attempts` (max of its due time and lease end).
 * @internal
 */
import { type Collection, type Filter, type Sort } from 'mongodb';
import { decodeMessage, type MessageDocument } from '../../persistence/mongodb/saga-document.js';
import { mapInChunks } from '../../persistence/mongodb/connection.js';
import { CorruptDocumentError } from '../../persistence/mongodb/errors.js';
import { DecodeProblem, describe } from '../../persistence/mongodb/value-codec.js';
import { type TimeoutRecord } from '../timeout-store.js';

/** One timeout as stored. */
export interface TimeoutDocument {
  _id: string;
  dueAt: Date;
  destination: string;
  message: MessageDocument;
  sagaType?: string;
  sagaId?: string;
  state: 'waiting' | 'leased' | 'dead';
  /** When it can be claimed (store time); null once dead-lettered. */
  availableAt: Date | null;
  /** The scheduler holding the lease, or null. */
  leaseOwner: string | null;
  /** Until when the lease holds, or null (kept equal to `availableAt` while leased, for inspection). */
  leaseUntil: Date | null;
  /** Claims so far. */
  attempts: number;
  /** The id of the claim that leased it last (the claim reads its batch back by it). */
  claim?: string;
  /** Why the last attempt failed. */
  lastError?: string;
  /** When it was dead-lettered. */
  deadLetteredAt?: Date;
}

/**
 * The claim's read: timeouts in `state` claimable at `now`, earliest first (one range of the index
 * `longhaul_claim` on `{ state, availableAt, _id }`).
 */
export function claimQuery(
  state: 'waiting' | 'leased',
  now: Date,
): { filter: Filter<TimeoutDocument>; sort: Sort } {
  return { filter: { state, availableAt: { $lte: now } }, sort: { availableAt: 1, _id: 1 } };
}

/** Decodes a stored timeout, or throws {@link CorruptDocumentError} naming the collection, id and field. */
export function decodeTimeout(collection: string, doc: TimeoutDocument): TimeoutRecord {
  try {
    const raw = doc as unknown as Record<string, unknown>;
    if (typeof raw._id !== 'string')
      throw new DecodeProblem(`_id is ${describe(raw._id)}, expected a string`);
    if (!(raw.dueAt instanceof Date))
      throw new DecodeProblem(`dueAt is ${describe(raw.dueAt)}, expected a date`);
    if (typeof raw.destination !== 'string') {
      throw new DecodeProblem(`destination is ${describe(raw.destination)}, expected a string`);
    }
    const record: { -readonly [K in keyof TimeoutRecord]: TimeoutRecord[K] } = {
      id: raw._id,
      dueAt: raw.dueAt,
      destination: raw.destination,
      message: decodeMessage(raw.message, 'message'),
    };
    if (typeof raw.sagaType === 'string') record.sagaType = raw.sagaType;
    if (typeof raw.sagaId === 'string') record.sagaId = raw.sagaId;
    return record;
  } catch (error) {
    if (error instanceof DecodeProblem)
      throw new CorruptDocumentError(collection, String(doc._id), error.message);
    throw error;
  }
}

/**
 * Gives up to `limit` documents of the earlier shape (no `state`) the current one, each with a
 * conditional update (so concurrent upgraders agree); resolves with how many it looked at. A
 * document leased by a scheduler of the earlier version stays leased until that lease ends.
 */
export async function upgradeLegacy(collection: Collection<TimeoutDocument>, limit: number): Promise<number> {
  const legacy = await collection
    .find({ state: { $exists: false } } as object)
    .limit(limit)
    .toArray();
  await mapInChunks(legacy, 8, (doc) => {
    const raw = doc as unknown as Record<string, unknown>;
    const dueAt = raw.dueAt instanceof Date ? raw.dueAt : new Date(0); // undecodable: claimed, then dead-lettered
    const leaseUntil = raw.leaseUntil instanceof Date ? raw.leaseUntil : null;
    const leased = typeof raw.leaseOwner === 'string' && leaseUntil !== null && leaseUntil > dueAt;
    return collection.updateOne({ _id: doc._id, state: { $exists: false } } as object, {
      $set: {
        state: leased ? 'leased' : 'waiting',
        availableAt: leased ? leaseUntil : dueAt,
        leaseOwner: leased ? (raw.leaseOwner as string) : null,
        leaseUntil: leased ? leaseUntil : null,
        attempts: 0,
      },
    });
  });
  return legacy.length;
}
