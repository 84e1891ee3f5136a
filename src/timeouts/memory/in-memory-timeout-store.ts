import { cloneData } from '../../util/clone.js';
import { type Clock, systemClock } from '../../util/clock.js';
import {
  type ClaimedTimeout,
  type DeadLetteredTimeout,
  type TimeoutClaim,
  type TimeoutDeadLetters,
  type TimeoutFailure,
  type TimeoutRecord,
  type TimeoutStore,
} from '../timeout-store.js';

interface Entry {
  record: TimeoutRecord;
  state: 'waiting' | 'leased' | 'dead';
  /** When it can be claimed (ms): its due time, retry time or lease end; Infinity when dead. */
  availableAt: number;
  leaseOwner?: string;
  attempts: number;
  lastError?: string;
  deadLetteredAt?: Date;
}

/** Options of {@link InMemoryTimeoutStore}. */
export interface InMemoryTimeoutStoreOptions {
  /**
   * The store's clock: due checks and leases use it, whatever clock a scheduler has.
   * @defaultValue the clock of the first scheduler that uses the store (an endpoint's `clock`)
   */
  clock?: Clock;
}

/**
 * The embedded timeout store, with the same semantics as the MongoDB store (see `timeout-store.ts`).
 * Its clock is the one given, else the first scheduler's (so an endpoint on a `VirtualClock` works).
 */
export class InMemoryTimeoutStore implements TimeoutStore {
  private readonly entries = new Map<string, Entry>();
  private clock?: Clock;

  constructor(options: InMemoryTimeoutStoreOptions = {}) {
    this.clock = options.clock;
  }

  /** Makes `clock` the store's clock unless it has one. @internal (the scheduler calls it) */
  adoptClock(clock: Clock): void {
    this.clock ??= clock;
  }

  async init(): Promise<void> {}

  async schedule(timeout: TimeoutRecord): Promise<void> {
    if (this.entries.has(timeout.id)) return;
    const record = cloneData(timeout);
    this.entries.set(timeout.id, {
      record,
      state: 'waiting',
      availableAt: record.dueAt.getTime(),
      attempts: 0,
    });
  }

  async cancel(id: string): Promise<boolean> {
    return this.entries.delete(id);
  }

  async claimDue(limit: number, owner: string, leaseMs: number): Promise<TimeoutClaim> {
    const now = this.now();
    const at = now.getTime();
    const due = [...this.entries.values()]
      .filter((e) => e.state !== 'dead' && e.availableAt <= at)
      .sort((a, b) => a.availableAt - b.availableAt || (a.record.id < b.record.id ? -1 : 1))
      .slice(0, limit);
    const leaseUntil = new Date(at + leaseMs);
    const timeouts = due.map((entry): ClaimedTimeout => {
      entry.state = 'leased';
      entry.leaseOwner = owner;
      entry.availableAt = leaseUntil.getTime();
      entry.attempts++;
      const claimed = {
        ...cloneData(entry.record),
        leaseOwner: owner,
        leaseUntil,
        attempts: entry.attempts,
      };
      return entry.lastError === undefined ? claimed : { ...claimed, lastError: entry.lastError };
    });
    return { timeouts, now };
  }

  async renew(ids: readonly string[], owner: string, leaseMs: number): Promise<string[]> {
    const until = this.now().getTime() + leaseMs;
    return ids.filter((id) => {
      const entry = this.held(id, owner);
      if (entry) entry.availableAt = until;
      return entry !== undefined;
    });
  }

  async complete(id: string, owner: string): Promise<boolean> {
    return this.held(id, owner) !== undefined && this.entries.delete(id);
  }

  async completeMany(ids: readonly string[], owner: string): Promise<number> {
    let deleted = 0;
    for (const id of new Set(ids))
      if (this.held(id, owner) !== undefined && this.entries.delete(id)) deleted++;
    return deleted;
  }

  async fail(id: string, owner: string, failure: TimeoutFailure): Promise<boolean> {
    const entry = this.held(id, owner);
    if (!entry) return false;
    entry.leaseOwner = undefined;
    entry.lastError = failure.reason;
    if ('deadLetter' in failure) {
      entry.state = 'dead';
      entry.availableAt = Infinity;
      entry.deadLetteredAt = this.now();
    } else {
      entry.state = 'waiting';
      entry.availableAt = this.now().getTime() + Math.max(0, failure.retryAfterMs);
    }
    return true;
  }

  async nextDueAt(): Promise<Date | undefined> {
    let next = Infinity;
    for (const entry of this.entries.values()) next = Math.min(next, entry.availableAt);
    return next === Infinity ? undefined : new Date(next);
  }

  async listBySaga(sagaType: string, sagaId: string): Promise<TimeoutRecord[]> {
    return [...this.entries.values()]
      .filter((e) => e.record.sagaType === sagaType && e.record.sagaId === sagaId)
      .map((e) => cloneData(e.record));
  }

  readonly deadLetters: TimeoutDeadLetters = {
    list: async (limit = 100) =>
      [...this.entries.values()]
        .filter((e) => e.state === 'dead')
        .sort((a, b) => (a.deadLetteredAt?.getTime() ?? 0) - (b.deadLetteredAt?.getTime() ?? 0))
        .slice(0, limit)
        .map((e): DeadLetteredTimeout => ({
          ...cloneData(e.record),
          attempts: e.attempts,
          reason: e.lastError ?? '',
          deadLetteredAt: e.deadLetteredAt ?? new Date(0),
        })),
    replay: async (id) => {
      const entry = this.entries.get(id);
      if (entry?.state !== 'dead') return false;
      entry.state = 'waiting';
      entry.availableAt = this.now().getTime();
      entry.attempts = 0;
      entry.deadLetteredAt = undefined;
      return true;
    },
    delete: async (id) => this.entries.get(id)?.state === 'dead' && this.entries.delete(id),
  };

  async close(): Promise<void> {}

  /** The number of stored timeouts, dead-lettered ones included (for tests). */
  get size(): number {
    return this.entries.size;
  }

  private now(): Date {
    return (this.clock ?? systemClock).now();
  }

  private held(id: string, owner: string): Entry | undefined {
    const entry = this.entries.get(id);
    return entry?.state === 'leased' && entry.leaseOwner === owner ? entry : undefined;
  }
}
