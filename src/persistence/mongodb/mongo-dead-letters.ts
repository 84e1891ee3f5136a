/**
 * The outbox's dead letters on MongoDB: one document per dead-lettered entry in their own
 * collection (`<saga collection>_dead_letters`), `_id` = the entry id, so a second put of the same
 * entry (a crash between the put and the removal from the outbox, then a retry) replaces the
 * first instead of adding one. Listing pages by `_id`.
 */
import { type Collection, type Filter } from 'mongodb';
import { type OutboxDeadLetter, type OutboxDeadLetterStore } from '../saga-store.js';
import { CorruptDocumentError } from './errors.js';
import { date, decodeEntry, encodeEntry, type OutboxEntryDocument, text } from './saga-document.js';
import { DecodeProblem } from './value-codec.js';

/** A dead letter as stored. */
interface DeadLetterDocument {
  _id: string;
  sagaType: string;
  sagaId: string;
  reason: string;
  deadLetteredAt: Date;
  entry: OutboxEntryDocument;
}

/** @internal The dead-letter collection behind `MongoSagaStore.deadLetters`. */
export class MongoDeadLetterStore implements OutboxDeadLetterStore {
  constructor(private readonly collection: Collection<DeadLetterDocument>) {}

  /** Creates the listing index (idempotent). */
  async init(): Promise<void> {
    await this.collection.createIndexes([{ key: { sagaType: 1, sagaId: 1 }, name: 'longhaul_dead_letters' }]);
  }

  async put(letter: OutboxDeadLetter): Promise<void> {
    const doc: DeadLetterDocument = {
      _id: letter.entry.id,
      sagaType: letter.sagaType,
      sagaId: letter.sagaId,
      reason: letter.reason,
      deadLetteredAt: letter.deadLetteredAt,
      entry: encodeEntry(letter.entry, 0, 0),
    };
    await this.collection.replaceOne({ _id: doc._id }, doc, { upsert: true });
  }

  async get(entryId: string): Promise<OutboxDeadLetter | undefined> {
    const doc = await this.collection.findOne({ _id: entryId });
    return doc ? this.decode(doc) : undefined;
  }

  async list(
    filter: { readonly sagaType?: string; readonly sagaId?: string },
    page: { limit: number; after?: string },
  ): Promise<OutboxDeadLetter[]> {
    const query: Filter<DeadLetterDocument> = {};
    if (filter.sagaType !== undefined) query.sagaType = filter.sagaType;
    if (filter.sagaId !== undefined) query.sagaId = filter.sagaId;
    if (page.after !== undefined) query._id = { $gt: page.after };
    const docs = await this.collection.find(query).sort({ _id: 1 }).limit(page.limit).toArray();
    return docs.map((doc) => this.decode(doc));
  }

  async delete(entryId: string): Promise<boolean> {
    return (await this.collection.deleteOne({ _id: entryId })).deletedCount === 1;
  }

  private decode(doc: DeadLetterDocument): OutboxDeadLetter {
    const raw = doc as unknown as Record<string, unknown>;
    try {
      return {
        entry: decodeEntry(raw.entry, 'entry'),
        sagaType: text(raw, 'sagaType'),
        sagaId: text(raw, 'sagaId'),
        reason: text(raw, 'reason'),
        deadLetteredAt: date(raw, 'deadLetteredAt'),
      };
    } catch (error) {
      if (error instanceof DecodeProblem)
        throw new CorruptDocumentError(this.collection.collectionName, String(doc._id), error.message);
      throw error;
    }
  }
}
