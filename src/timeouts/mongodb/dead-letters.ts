/**
 * The dead-lettered timeouts of the MongoDB timeout store: documents with `state: 'dead'` in the
 * store's collection (see `timeout-document.ts`), listed, replayed (due now, attempts reset) or
 * deleted by conditional writes. A dead-lettered document that cannot be decoded is still listed,
 * with what can be read of it, so an operator sees it.
 * @internal
 */
import { type Collection } from 'mongodb';
import { CorruptDocumentError } from '../../persistence/mongodb/errors.js';
import { type DeadLetteredTimeout, type TimeoutDeadLetters, type TimeoutRecord } from '../timeout-store.js';
import { decodeTimeout, type TimeoutDocument } from './timeout-document.js';

/** The {@link TimeoutDeadLetters} of one collection; `now` is the store's clock. */
export function mongoDeadLetters(
  collection: Collection<TimeoutDocument>,
  collectionName: string,
  now: () => Promise<Date>,
): TimeoutDeadLetters {
  const describeDead = (doc: TimeoutDocument): DeadLetteredTimeout => {
    let record: TimeoutRecord;
    try {
      record = decodeTimeout(collectionName, doc);
    } catch (error) {
      if (!(error instanceof CorruptDocumentError)) throw error;
      record = {
        id: String(doc._id),
        dueAt: doc.dueAt instanceof Date ? doc.dueAt : new Date(0),
        destination: String(doc.destination),
        message: { messageId: String(doc._id), headers: {}, body: '' },
      };
    }
    return {
      ...record,
      attempts: typeof doc.attempts === 'number' ? doc.attempts : 0,
      reason: doc.lastError ?? '',
      deadLetteredAt: doc.deadLetteredAt instanceof Date ? doc.deadLetteredAt : new Date(0),
    };
  };
  return {
    list: async (limit = 100) => {
      const docs = await collection
        .find({ state: 'dead' })
        .sort({ deadLetteredAt: 1 })
        .limit(limit)
        .toArray();
      return docs.map(describeDead);
    },
    replay: async (id) => {
      const result = await collection.updateOne(
        { _id: id, state: 'dead' },
        { $set: { state: 'waiting', availableAt: await now(), attempts: 0 }, $unset: { deadLetteredAt: '' } },
      );
      return result.matchedCount === 1;
    },
    delete: async (id) => (await collection.deleteOne({ _id: id, state: 'dead' })).deletedCount === 1,
  };
}
