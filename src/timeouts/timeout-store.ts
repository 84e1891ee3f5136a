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
 * - **Leases.** {@link TimeoutStore.claimDue} returns due timeouts not leased by anyone else and
 *   leases them to `owner` until `now + leaseMs`, atomically per timeout: two schedulers never hold
 *   the same lease. A lease that expires (its scheduler died) makes the timeout claimable again,
 *   so delivery is at-least-once; the receiving inbox dedupes.
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
  readonly leaseUntil: Date;
}

/** The timeout store port; see the file header for the contract. */
export interface TimeoutStore {
  /** Prepares the store (indexes). Idempotent. */
  init(): Promise<void>;
  /** Stores a timeout; a second call with the same id is a no-op. */
  schedule(timeout: TimeoutRecord): Promise<void>;
  /** Removes a timeout that has not been delivered; resolves `true` if one was removed. */
  cancel(id: string): Promise<boolean>;
  /** Leases up to `limit` timeouts due at `now` that nobody holds, earliest first. */
  claimDue(now: Date, limit: number, owner: string, leaseMs: number): Promise<ClaimedTimeout[]>;
  /** Deletes a delivered timeout, if `owner` still holds its lease; resolves `true` if deleted. */
  complete(id: string, owner: string): Promise<boolean>;
  /** The earliest due time of any stored timeout, leased or not. */
  nextDueAt(): Promise<Date | undefined>;
  /** Timeouts requested by one saga instance (for inspection and tests). */
  listBySaga(sagaType: string, sagaId: string): Promise<TimeoutRecord[]>;
  /** Releases connections. */
  close(): Promise<void>;
}
