import { cloneData } from '../../util/clone.js';
import { type OutboxDeadLetter, type OutboxDeadLetterStore } from '../saga-store.js';

/** The outbox's dead letters in a map keyed by entry id (see `OutboxDeadLetterStore`). */
export class InMemoryDeadLetterStore implements OutboxDeadLetterStore {
  private readonly letters = new Map<string, OutboxDeadLetter>();

  async put(letter: OutboxDeadLetter): Promise<void> {
    this.letters.set(letter.entry.id, cloneData(letter));
  }

  async get(entryId: string): Promise<OutboxDeadLetter | undefined> {
    const letter = this.letters.get(entryId);
    return letter && cloneData(letter);
  }

  async list(
    filter: { readonly sagaType?: string; readonly sagaId?: string },
    page: { limit: number; after?: string },
  ): Promise<OutboxDeadLetter[]> {
    return [...this.letters.values()]
      .filter(
        (l) =>
          (filter.sagaType === undefined || l.sagaType === filter.sagaType) &&
          (filter.sagaId === undefined || l.sagaId === filter.sagaId) &&
          (page.after === undefined || l.entry.id > page.after),
      )
      .sort((a, b) => (a.entry.id < b.entry.id ? -1 : a.entry.id > b.entry.id ? 1 : 0))
      .slice(0, page.limit)
      .map((l) => cloneData(l));
  }

  async delete(entryId: string): Promise<boolean> {
    return this.letters.delete(entryId);
  }
}
