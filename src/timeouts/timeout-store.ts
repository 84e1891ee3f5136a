/**
 * # The timeout store port
 *
 * Keeps messages that must be delivered later (saga timeouts, workflow timers, scheduled sends)
 * until a scheduler claims them. Implementations: `InMemoryTimeoutStore` (`timeouts/memory/`) and
 * the MongoDB store (`timeouts/mongodb/`).
 *
 * Guarantees every implementation gives:
 * - **Idempotent scheduling.** {@link TimeoutStore.schedule} with an id already stored changes
 *   nothing (timeout ids are deterministic, so a re-dispatched outbox entry is harmless).
 * - **The store's clock.** Whether a timeout is due and whether a lease has expired is decided by
 *   the store's own clock (the database server's, for the MongoDB store), never by the clock of
 *   the worker asking: a worker whose clock is minutes off neither fires a timeout early nor takes
 *   a lease another scheduler still holds. {@link TimeoutClaim.now} tells the caller that time.
 * - **Leases.** {@link TimeoutStore.claimDue} returns timeouts that are due and not leased by
 *   anyone else, and leases them to `owner` for `leaseMs` of store time, atomically per timeout:
 *   two schedulers never hold the same lease. The holder can extend it ({@link TimeoutStore.renew})
 *   while it delivers. A lease that expires (its scheduler died) makes the timeout claimable again,
 *   so delivery is at-least-once; the receiving inbox dedupes.
 * - **Attempts and dead letters.** Each claim counts an attempt. A failed delivery is given back
 *   with its reason ({@link TimeoutStore.fail}) either for a retry after a delay or as dead-lettered:
 *   kept, with the reason, out of the claim path, listed, replayed or deleted through
 *   {@link TimeoutStore.deadLetters}. Nothing is dropped silently.
 * - **Survival.** Timeouts stay until delivered ({@link TimeoutStore.complete}) or cancelled, however
 *   far away they are.
 *
 * Non-goals: delivery precision beyond the scheduler's poll interval, ordering among timeouts due
 * at the same instant.
 */
import { type StoredMessage } from '../persistence/saga-store.js';

/** A timeout waiting to fall due. */
export interface TimeoutRecord {
  /** Deterministic id (the outgoing message id). */
  readonly id: string;
  readonly dueAt: Date;
  /** The endpoint the message is sent to when due. */
  readonly destination: string;
  readonly message: StoredMessage;
  /** The saga type / instance that requested it, if any (for cancellation and inspection). */
  readonly sagaType?: string;
  readonly sagaId?: string;
}

/** A timeout claimed by a scheduler. */
export interface ClaimedTimeout extends TimeoutRecord {
  readonly leaseOwner: string;
  /** When the lease ends, by the store's clock. */
  readonly leaseUntil: Date;
  /** Delivery attempts so far, this one included (1 on the first claim). */
  readonly attempts: number;
  /** Why the previous attempt failed, if one did. */
  readonly lastError?: string;
}

/** What {@link TimeoutStore.claimDue} returns. */
export interface TimeoutClaim {
  /** The leased timeouts, earliest first. */
  readonly timeouts: ClaimedTimeout[];
  /** The store's time the claim was decided at (due checks and leases use it). */
  readonly now: Date;
}

/** A timeout that could not be delivered and waits for an operator. */
export interface DeadLetteredTimeout extends TimeoutRecord {
  /** Delivery attempts made. */
  readonly attempts: number;
  /** Why the last attempt failed. */
  readonly reason: string;
  /** When it was dead-lettered (store time). */
  readonly deadLetteredAt: Date;
}

/** How a failed delivery is given back to the store. */
export type TimeoutFailure =
  | { readonly reason: string; readonly retryAfterMs: number }
  | { readonly reason: string; readonly deadLetter: true };

/** The operator's view of dead-lettered timeouts (see the file header). */
export interface TimeoutDeadLetters {
  /** Dead-lettered timeouts, oldest dead-lettering first. @param limit at most this many (default 100) */
  list(limit?: number): Promise<DeadLetteredTimeout[]>;
  /** Makes a dead-lettered timeout due now with its attempts reset; `false` if there is none by that id. */
  replay(id: string): Promise<boolean>;
  /** Deletes a dead-lettered timeout for good; `false` if there is none by that id. */
  delete(id: string): Promise<boolean>;
}

/** The timeout store port; see the file header for the contract. */
export interface TimeoutStore {
  /** Prepares the store (indexes; brings timeouts stored by an older version to the current shape). Idempotent. */
  init(): Promise<void>;
  /** Stores a timeout; a second call with the same id is a no-op. */
  schedule(timeout: TimeoutRecord): Promise<void>;
  /** Removes a timeout that has not been delivered (dead-lettered ones too); `true` if one was removed. */
  cancel(id: string): Promise<boolean>;
  /**
   * Leases to `owner`, for `leaseMs` of store time, up to `limit` timeouts that are due by the
   * store's clock and not leased by anyone else (or whose lease expired), earliest first. A batch
   * costs a few store round trips, not one per timeout.
   */
  claimDue(limit: number, owner: string, leaseMs: number): Promise<TimeoutClaim>;
  /** Extends the leases `owner` still holds among `ids` to `leaseMs` from now (store time), in a few round trips; resolves with their ids. */
  renew(ids: readonly string[], owner: string, leaseMs: number): Promise<string[]>;
  /** Deletes a delivered timeout, if `owner` still holds its lease; resolves `true` if deleted. */
  complete(id: string, owner: string): Promise<boolean>;
  /**
   * Deletes the delivered timeouts among `ids` whose lease `owner` still holds, in one store round
   * trip (the scheduler completes a batch with it); resolves how many were deleted.
   */
  completeMany(ids: readonly string[], owner: string): Promise<number>;
  /** Gives back a timeout `owner` failed to deliver: retried after a delay, or dead-lettered; `true` if it held the lease. */
  fail(id: string, owner: string, failure: TimeoutFailure): Promise<boolean>;
  /** The earliest time (store clock) at which a stored timeout becomes claimable: its due time, retry time or lease end. */
  nextDueAt(): Promise<Date | undefined>;
  /** Timeouts requested by one saga instance, dead-lettered ones included (for inspection and tests). */
  listBySaga(sagaType: string, sagaId: string): Promise<TimeoutRecord[]>;
  /** Dead-lettered timeouts: list, replay, delete. */
  readonly deadLetters: TimeoutDeadLetters;
  /** Releases connections. */
  close(): Promise<void>;
}
