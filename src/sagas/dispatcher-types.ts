/**
 * The commit path's contract with its surroundings: the outcome it reports for one saga type and
 * one message, the part of the outbox it drives, and what the endpoint gives it.
 */
import { type OutgoingCollector } from '../bus/outgoing.js';
import { type Envelope } from '../messages/envelope.js';
import { type OutboxEntry, type SagaRecord, type SagaStore } from '../persistence/saga-store.js';
import { type Telemetry } from '../telemetry/telemetry.js';
import { type Logger } from '../util/logger.js';

/**
 * How the commit path treats a message that matches no instance and may not start one: `log` and
 * acknowledge, `error` (straight to the error queue), or `retry` (the instance may not exist *yet*:
 * immediate and delayed retries, then the error queue).
 */
export type SagaNotFoundPolicy = 'log' | 'error' | 'retry';

/** What happened when one saga type handled one message (for tracing and tests). */
export interface SagaOutcome {
  readonly saga: string;
  readonly sagaId?: string;
  readonly result:
    | 'committed'
    | 'duplicate'
    | 'not-found'
    | 'completed-ignored'
    | 'timeout-ignored'
    /** A start message found an active instance and its `onExisting` is `ignore`. */
    | 'existing-ignored';
  readonly stateBefore?: unknown;
  readonly stateAfter?: unknown;
  readonly completed?: boolean;
  readonly outgoing?: readonly OutboxEntry[];
  /** Commit attempts lost to a concurrent writer before this one won. */
  readonly conflicts?: number;
}

/** The part of the outbox dispatcher the commit path uses (the endpoint passes its `OutboxDispatcher`). */
export interface SagaOutbox {
  /** Stamps entries about to be committed with a claim the committer holds; returns its token. */
  claimForCommit(entries: readonly OutboxEntry[]): { entries: OutboxEntry[]; token: string };
  /** Carries out entries held under `token`; `record` is the instance as of the commit or later. */
  dispatchClaimed(
    record: Pick<SagaRecord, 'sagaType' | 'id' | 'timeouts'>,
    entries: readonly OutboxEntry[],
    token: string,
  ): Promise<unknown>;
  /** Claims the due ones among `entries` (as read in `record`) and carries them out. */
  dispatchDue(record: SagaRecord, entries: readonly OutboxEntry[]): Promise<unknown>;
}

/** What the commit path needs from its surroundings. */
export interface SagaDispatcherDeps {
  readonly store: SagaStore;
  readonly logger: Logger;
  readonly endpoint: string;
  readonly now: () => Date;
  /** Builds the instance that runs a handler (the Inversify container in production). */
  readonly resolve: (ctor: new (...args: any[]) => object) => object;
  /** Makes the collector for one handler run in one instance. */
  readonly collector: (incoming: Envelope, scope: string) => OutgoingCollector;
  /** Claims, dispatches and retires outbox entries (see `endpoint/outbox.ts`). */
  readonly outbox: SagaOutbox;
  /** Counts ids the inbox cap evicted while still inside the dedupe window, and commit conflicts (the endpoint's counters). */
  readonly counters: { inboxEvictedInWindow: number; sagaCommitConflicts: number };
  readonly options: {
    readonly conflictRetries: number;
    /** The inbox cap: at most this many handled ids per instance. */
    readonly inboxSize: number;
    /** Handled ids are kept at least this long. */
    readonly dedupeWindowMs: number;
    readonly tombstoneRetentionMs: number;
    readonly notFound: SagaNotFoundPolicy;
  };
  /** Spans of handlings and commits, and the conflict count. @defaultValue none */
  readonly telemetry?: Telemetry;
}
