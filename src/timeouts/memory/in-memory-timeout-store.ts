import { type ClaimedTimeout, type TimeoutRecord, type TimeoutStore } from '../timeout-store.js';

interface Entry {
  record: TimeoutRecord;
  leaseOwner?: string;
  leaseUntil?: Date;
}

/** The embedded timeout store, with the same lease semantics as the MongoDB store (see `timeout-store.ts`). */
export class InMemoryTimeoutStore implements TimeoutStore {
  private readonly entries = new Map<string, Entry>();

  async init(): Promise<void> {}

  async schedule(timeout: TimeoutRecord): Promise<void> {
    if (!this.entries.has(timeout.id)) this.entries.set(timeout.id, { record: structuredClone(timeout) });
  }

  async cancel(id: string): Promise<boolean> {
    return this.entries.delete(id);
  }

  async claimDue(now: Date, limit: number, owner: string, leaseMs: number): Promise<ClaimedTimeout[]> {
    const at = now.getTime();
    const due = [...this.entries.values()]
      .filter(
        (e) => e.record.dueAt.getTime() <= at && (e.leaseUntil === undefined || e.leaseUntil.getTime() <= at),
      )
      .sort((a, b) => a.record.dueAt.getTime() - b.record.dueAt.getTime())
      .slice(0, limit);
    const leaseUntil = new Date(at + leaseMs);
    return due.map((entry) => {
      entry.leaseOwner = owner;
      entry.leaseUntil = leaseUntil;
      return { ...structuredClone(entry.record), leaseOwner: owner, leaseUntil };
    });
  }

  async complete(id: string, owner: string): Promise<boolean> {
    const entry = this.entries.get(id);
    if (!entry || entry.leaseOwner !== owner) return false;
    return this.entries.delete(id);
  }

  async nextDueAt(): Promise<Date | undefined> {
    let next: number | undefined;
    for (const { record } of this.entries.values()) {
      const at = record.dueAt.getTime();
      if (next === undefined || at < next) next = at;
    }
    return next === undefined ? undefined : new Date(next);
  }

  async listBySaga(sagaType: string, sagaId: string): Promise<TimeoutRecord[]> {
    return [...this.entries.values()]
      .filter((e) => e.record.sagaType === sagaType && e.record.sagaId === sagaId)
      .map((e) => structuredClone(e.record));
  }

  async close(): Promise<void> {}

  /** The number of stored timeouts (for tests). */
  get size(): number {
    return this.entries.size;
  }
}
