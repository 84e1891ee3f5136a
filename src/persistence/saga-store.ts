/**
 * # The saga store port
 *
 * Keeps one document per saga (or workflow) instance: its state, a version, an embedded outbox of
 * messages not yet dispatched and an inbox of the message ids already handled. Implementations:
 * `InMemorySagaStore` (`persistence/memory/`) and the MongoDB store (`persistence/mongodb/`).
 *
 * Guarantees every implementation gives:
 * - **Atomic, conditional commit.** {@link SagaStore.commit} writes state, version, new outbox
 *   entries and inbox together or not at all, and only if the stored version still equals
 *   `expectedVersion` (`0` means "does not exist yet"). Otherwise it throws `ConcurrencyError`
 *   and writes nothing. Two instances of one saga type never share a correlation key: inserting a
 *   second one is a `ConcurrencyError` too.
 * - **Outbox entries are only added by commits and only removed by {@link SagaStore.markDispatched}**,
 *   which does not change the version, so a commit never resurrects an entry already marked.
 * - **Dispatch claims are conditional.** {@link SagaStore.claimOutbox} succeeds only if every
 *   entry it names still exists and still carries the claim token the caller read (compare and
 *   set), all or none; {@link SagaStore.recordOutboxFailure} only while the caller's token is
 *   still the entry's. So of two processes that read one pending entry, at most one claims it,
 *   and a holder whose lease ran out cannot overwrite the next holder's record. Neither changes
 *   the version, so claims never make a commit conflict.
 * - **Due entries are found by next attempt time.** {@link SagaStore.findDueOutbox} returns
 *   instances with an entry due (`nextAttemptAt`, or `createdAt` when absent, at or before `now`),
 *   the earliest first, so entries backing off into the future never hide due ones.
 * - **The inbox is stored as given**: each handled id with its time, in order. Which ids to keep
 *   (the dedupe window and cap) is the commit path's decision, not the store's; a store may read
 *   ids it stored without times (older documents) as handled at the record's `updatedAt`.
 * - Reads never expose what is stored: changing a returned record changes nothing stored. A store
 *   returns copies (MongoDB) or frozen records whose change throws a `TypeError` (in memory).
 *
 * The dead letters of the outbox (entries that failed their last attempt) live in a second small
 * port, {@link OutboxDeadLetterStore}, reached through {@link SagaStore.deadLetters}: an entry is
 * put there (idempotently by entry id) before it is removed from the outbox, so a crash between the
 * two leaves it in both places, never in neither.
 *
 * Non-goals: multi-document transactions, queries on state fields, ordering of concurrent commits
 * beyond the version check, the store's own clock (the times passed in are the caller's).
 */
import { type WireMessage } from '../messages/codec.js';
import { type InstanceAdminStore } from './instance-admin.js';

/** A message waiting to be dispatched after its commit. */
export interface OutboxEntry {
  /** The outgoing message id (deterministic: incoming id + instance + position). */
  readonly id: string;
  /** `publish` an event, `send` to an endpoint, `schedule` a timeout, or `cancel` one. */
  readonly operation: 'publish' | 'send' | 'schedule' | 'cancel';
  /** The message (absent for `cancel`). */
  readonly message?: StoredMessage;
  /** The endpoint for `send` and `schedule`. */
  readonly destination?: string;
  /** When a scheduled timeout falls due. */
  readonly dueAt?: Date;
  /** For `cancel`: the timeout id to cancel. */
  readonly timeoutId?: string;
  /** The incoming message whose handling produced this entry. */
  readonly sourceMessageId: string;
  readonly createdAt: Date;
  /** Dispatch attempts begun so far: each claim counts one. @defaultValue 0 */
  readonly attempts?: number;
  /**
   * When the entry may next be claimed: the end of the current claim's lease while one holds it,
   * the end of the backoff after a failed attempt. Absent on entries stored before claims existed
   * (the dispatcher then treats `createdAt` + its lease as the time).
   */
  readonly nextAttemptAt?: Date;
  /** The token of the claim that last took the entry (see {@link SagaStore.claimOutbox}). */
  readonly claim?: string;
  /** Why the last attempt failed. */
  readonly lastError?: string;
}

/** One entry a {@link SagaStore.claimOutbox} call takes, with the claim token its caller read. */
export interface OutboxClaim {
  readonly entryId: string;
  /** The entry's `claim` as read (`undefined` if it had none): the write is conditional on it. */
  readonly expectedClaim: string | undefined;
}

/** An outbox entry taken out of the outbox after its last failed attempt, with the reason. */
export interface OutboxDeadLetter {
  /** The entry as it was in the outbox (its `attempts` and `lastError` included). */
  readonly entry: OutboxEntry;
  readonly sagaType: string;
  readonly sagaId: string;
  /** Why it was dead-lettered (the last error and the attempts made). */
  readonly reason: string;
  readonly deadLetteredAt: Date;
}

/**
 * Where dead-lettered outbox entries wait for an operator: listed, replayed (by the
 * `OutboxDeadLetters` API) and deleted. Keyed by entry id, which is unique.
 */
export interface OutboxDeadLetterStore {
  /** Stores a dead letter. Idempotent by `entry.id`: a second put of the same id keeps one. */
  put(letter: OutboxDeadLetter): Promise<void>;
  /** The dead letter of one entry, if any. */
  get(entryId: string): Promise<OutboxDeadLetter | undefined>;
  /** Dead letters matching `filter`, ordered by entry id, starting after the id `after`. */
  list(
    filter: { readonly sagaType?: string; readonly sagaId?: string },
    page: { limit: number; after?: string },
  ): Promise<OutboxDeadLetter[]>;
  /** Removes one; resolves `true` if it existed. */
  delete(entryId: string): Promise<boolean>;
}

/** A message as a store keeps it: headers and the JSON body as text. */
export interface StoredMessage {
  readonly messageId: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A timeout an instance requested and that has not fired or been cancelled. */
export interface PendingTimeout {
  readonly id: string;
  readonly type: string;
  readonly dueAt: Date;
}

/** A handled message id and when it was handled (stores keep the pair as given). */
export interface InboxEntry {
  readonly id: string;
  readonly at: Date;
}

/** One saga or workflow instance as stored. */
export interface SagaRecord<State = unknown> {
  /** The saga (or `workflow:<name>`) type. */
  readonly sagaType: string;
  /** The instance id, unique within the saga type. */
  readonly id: string;
  /** The correlation value, unique within the saga type. */
  readonly correlationKey: string;
  /** Increments by one on every commit; `1` after the first. */
  readonly version: number;
  /** `completed` instances are tombstones: `state` is `null`, the inbox is kept. */
  readonly status: 'active' | 'completed';
  readonly state: State | null;
  /** Entries not yet dispatched, in the order they were added. */
  readonly outbox: readonly OutboxEntry[];
  /**
   * The handled message ids with the time each was handled, oldest first: the dedupe window (the
   * commit path keeps ids at least for its window, at most its cap; see `sagas/inbox.ts`).
   */
  readonly inbox: readonly InboxEntry[];
  readonly timeouts: readonly PendingTimeout[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** For tombstones: when it may be deleted (once its outbox is empty). */
  readonly retainUntil?: Date;
  /** Indexed string labels for {@link SagaStore.list} (workflows keep their type and status here). */
  readonly labels?: Readonly<Record<string, string>>;
  /** The version of the state's shape (`@Saga(name, { stateVersion })`); absent means 1. */
  readonly stateVersion?: number;
}

/** Which instances {@link SagaStore.list} returns; every given condition must hold. */
export interface InstanceFilter {
  /** Each label must equal the given value. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly createdAfter?: Date;
  readonly createdBefore?: Date;
  readonly updatedBefore?: Date;
}

/** One commit: the instance's complete new record, written if the version still matches. */
export interface SagaCommit<State = unknown> {
  /** The record to write; its `version` must be `expectedVersion + 1`. Its outbox is ignored. */
  readonly record: Omit<SagaRecord<State>, 'outbox'>;
  /** The version that was loaded; `0` to insert a new instance. */
  readonly expectedVersion: number;
  /** Entries to append to the stored outbox. */
  readonly newOutbox: readonly OutboxEntry[];
  /**
   * Set when the state holds an append-only array (a workflow's history) whose first `from` items
   * are stored unchanged at `expectedVersion`: a store may then append the items after `from`
   * instead of rewriting the array, and write the state's other fields one by one, removing those
   * named in `removed`. The record stored must be the same either way; a store may ignore this.
   */
  readonly append?: StateAppend;
  /**
   * The state's top-level append-only array (a workflow's history), named on every commit of a
   * type that has one, whether this commit only appended to it (`append`) or rewrote it. A store
   * may keep its items apart from the instance (the MongoDB store seals them in chunks of 100);
   * every read still returns the whole array.
   */
  readonly appendOnly?: string;
}

/**
 * What a caller already holds of an instance's append-only array (see {@link FindOptions.known}):
 * its items exactly as committed at `version`.
 */
export interface KnownItems {
  /** The version whose commit stored `items` (the run cache's version). */
  readonly version: number;
  /** The state field that holds the array. */
  readonly field: string;
  /** The items as stored at `version`. Never mutated by the store; shared into what it returns. */
  readonly items: readonly unknown[];
}

/** Options of {@link SagaStore.findById} and {@link SagaStore.findByCorrelation}. */
export interface FindOptions {
  /**
   * A hint: the caller holds the append-only array as it was at a version. When the stored
   * instance is still at that version, a store may take the items it keeps apart from there
   * instead of reading them (the MongoDB store then reads only the instance document). The
   * record returned is the same either way; a hint at another version, for another field or
   * shorter than what the store keeps apart is ignored.
   */
  readonly known?: KnownItems;
}

/** See {@link SagaCommit.append}. */
export interface StateAppend {
  /** The state's top-level field that holds the array. */
  readonly field: string;
  /** How many of its items are already stored. */
  readonly from: number;
  /** Top-level state fields the stored state has and the new one has not. */
  readonly removed: readonly string[];
}

/** The saga store port; see the file header for the contract. */
export interface SagaStore {
  /** Prepares the store (indexes). Idempotent. */
  init(): Promise<void>;
  /** The instance of `sagaType` correlated to `correlationKey`, if any. */
  findByCorrelation(
    sagaType: string,
    correlationKey: string,
    /**
     * The id the instance has if the dispatcher created it (`sagaInstanceId(type, key)`); a store
     * may then look only there (one `_id` read instead of a correlation query).
     */
    hint?: { readonly id?: string } & FindOptions,
  ): Promise<SagaRecord | undefined>;
  /** The instance of `sagaType` with id `id`, if any. */
  findById(sagaType: string, id: string, options?: FindOptions): Promise<SagaRecord | undefined>;
  /** Writes one commit atomically, or throws `ConcurrencyError`. */
  commit(commit: SagaCommit): Promise<void>;
  /** Removes outbox entries (dispatched or dead-lettered). Idempotent; never changes the version. */
  markDispatched(sagaType: string, id: string, entryIds: readonly string[]): Promise<void>;
  /**
   * Takes entries for dispatch until `lease.until`: if every entry in `claims` still exists with
   * the `expectedClaim` token, sets each one's `claim` to `lease.token` and `nextAttemptAt` to
   * `lease.until` and adds one to its `attempts`, and resolves `true`; otherwise changes nothing
   * and resolves `false` (also when the instance is gone). Never changes the version.
   */
  claimOutbox(
    sagaType: string,
    id: string,
    claims: readonly OutboxClaim[],
    lease: { readonly token: string; readonly until: Date },
  ): Promise<boolean>;
  /**
   * Records a failed attempt on an entry still claimed with `token`: sets `nextAttemptAt` (the
   * backoff) and `lastError`. Resolves `false` and changes nothing if the claim has moved on or the
   * entry is gone. Never changes the version.
   */
  recordOutboxFailure(
    sagaType: string,
    id: string,
    entryId: string,
    token: string,
    failure: { readonly nextAttemptAt: Date; readonly error: string },
  ): Promise<boolean>;
  /**
   * Instances with an outbox entry due at `now` (`nextAttemptAt`, else `createdAt`, `<= now`), up
   * to `limit`, those with the earliest due entry first (for the outbox sweeper).
   */
  findDueOutbox(now: Date, limit: number): Promise<SagaRecord[]>;
  /** The `createdAt` of the oldest entry in any instance's outbox, if any (a lower bound). */
  oldestPendingOutbox(): Promise<Date | undefined>;
  /** The outbox's dead letters. */
  readonly deadLetters: OutboxDeadLetterStore;
  /** Search across types, counts and the operators' action log (see `instance-admin.ts`). */
  readonly admin: InstanceAdminStore;
  /** Instances of `sagaType` matching `filter`, ordered by id, starting after the id `after`. */
  list(
    sagaType: string,
    filter: InstanceFilter,
    page: { limit: number; after?: string },
  ): Promise<SagaRecord[]>;
  /** Deletes one instance whatever its state; resolves `true` if it existed. */
  delete(sagaType: string, id: string): Promise<boolean>;
  /** Deletes tombstones whose `retainUntil` has passed and whose outbox is empty; returns the count. */
  deleteExpiredTombstones(now: Date): Promise<number>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** Converts a wire message to its stored form. */
export function toStoredMessage(message: WireMessage): StoredMessage {
  return { messageId: message.messageId, headers: message.headers, body: message.body.toString('utf8') };
}

/** Converts a stored message back to its wire form. */
export function fromStoredMessage(message: StoredMessage): WireMessage {
  return { messageId: message.messageId, headers: message.headers, body: Buffer.from(message.body, 'utf8') };
}
