/**
 * Carrying out outbox entries. Who sends a pending entry is decided by a **dispatch claim** written
 * into the instance document (a compare-and-set on the entry's claim token, see
 * `SagaStore.claimOutbox`), never by a sleep or a set in process memory:
 *
 * - a commit writes its new entries already claimed by the committer, leased until `now + lease`,
 *   so nobody else touches them while the committer sends them, whatever the confirm latency;
 * - a redelivered message (a duplicate) and the sweeper take only entries whose lease or backoff
 *   has passed (`nextAttemptAt`), with a conditional write that one process wins;
 * - a failed attempt is recorded on the entry (`attempts`, `lastError`, `nextAttemptAt` = now +
 *   backoff); after `maxAttempts` the entry is dead-lettered: put in the dead-letter store with the
 *   reason, then removed from the outbox, so its instance and tombstone can move on.
 */
import { type Transport } from '../bus/transport.js';
import { type WireMessage } from '../messages/codec.js';
import {
  fromStoredMessage,
  type OutboxEntry,
  type SagaRecord,
  type SagaStore,
} from '../persistence/saga-store.js';
import { LonghaulError } from '../errors.js';
import { Headers } from '../messages/envelope.js';
import { type TimeoutStore } from '../timeouts/timeout-store.js';
import { newToken } from '../util/ids.js';
import { type Logger } from '../util/logger.js';
import { type EndpointCounters } from './counters.js';
import { type Telemetry } from '../telemetry/telemetry.js';

/** How the outbox retries and leases (resolved from `EndpointOptions.outbox`). */
export interface OutboxPolicy {
  /** How long a claim keeps other processes from sending an entry. */
  readonly leaseMs: number;
  /** Attempts before an entry is dead-lettered. */
  readonly maxAttempts: number;
  /** The wait after the first failed attempt; doubles after each, up to `retryMaxDelayMs`. */
  readonly retryDelayMs: number;
  readonly retryMaxDelayMs: number;
}

/** What one dispatch call did. */
export interface DispatchReport {
  /** Entries carried out (sent, published, stored or cancelled). */
  readonly sent: number;
  /** Entries whose attempt failed and that will be tried again after their backoff. */
  readonly failed: number;
  /** Entries moved to the dead letters. */
  readonly deadLettered: number;
  /** Entries left alone: not due yet (leased by another process, or backing off). */
  readonly skipped: number;
}

type Record_ = Pick<SagaRecord, 'sagaType' | 'id' | 'timeouts'>;

/** Claim conflicts tolerated (rereading each time) before leaving the entries to their holder. */
const CLAIM_ROUNDS = 3;

/**
 * Carries out outbox entries: messages to the transport, timeouts to the timeout store. Used after
 * a commit, on redelivery of a handled message, by the sweeper, and (without a saga) by plain
 * handlers and the `Bus`.
 */
export class OutboxDispatcher {
  constructor(
    private readonly transport: Transport,
    private readonly timeouts: TimeoutStore,
    private readonly store: SagaStore,
    /** Told the earliest due time of the timeouts a dispatch scheduled. */
    private readonly onScheduled: (dueAt: Date) => void,
    private readonly deps: {
      readonly now: () => Date;
      readonly logger: Logger;
      readonly policy: OutboxPolicy;
      readonly counters: EndpointCounters;
      /** Spans of sends and timeout writes. @defaultValue none */
      readonly telemetry?: Telemetry;
    },
  ) {}

  /**
   * Dispatches entries: timeout changes first, in order, then the messages concurrently. Resolves
   * with the ids of the entries carried out; rejects if any failed, carrying the ids that were.
   *
   * Timeouts go first so that whatever the messages cause happens after the commit's timeouts are
   * stored: a reply that cancels a timeout requested in the same commit (a payment answered
   * before its deadline was stored) would otherwise find nothing to cancel, and the late schedule
   * would leave the timeout stored until it comes due. A failed timeout write sends none of the
   * messages; the retry dispatches them all.
   */
  async dispatch(entries: readonly OutboxEntry[]): Promise<string[]> {
    const { done, failures } = await this.attempt(entries);
    const [first] = failures.values();
    if (failures.size > 0) throw new PartialDispatchError(done, first);
    return done;
  }

  /** Stamps the entries a commit is about to write with a claim held by the committer. */
  claimForCommit(entries: readonly OutboxEntry[]): { entries: OutboxEntry[]; token: string } {
    const token = newToken();
    const nextAttemptAt = new Date(this.deps.now().getTime() + this.deps.policy.leaseMs);
    const claim = { attempts: 1, nextAttemptAt, claim: token };
    // Object.assign rather than a spread: with entries of several shapes (publish, send, schedule)
    // V8 builds `{ ...e, more }` an order of magnitude slower.
    return { token, entries: entries.map((e): OutboxEntry => Object.assign({}, e, claim)) };
  }

  /**
   * Carries out entries the caller holds under `token` (as stamped by
   * {@link OutboxDispatcher.claimForCommit} or claimed by {@link OutboxDispatcher.dispatchDue}),
   * removes those carried out from the outbox, records the failures with their backoff and
   * dead-letters the entries out of attempts. Send failures do not reject; store failures do.
   *
   * `record` is the instance as of the commit or later. A timeout it no longer lists was cancelled
   * or has fired since its entry was committed: a redelivery or the sweeper storing it now would
   * bring it back, to come due long after its saga moved on. Such an entry is only removed.
   */
  async dispatchClaimed(
    record: Record_,
    entries: readonly OutboxEntry[],
    token: string,
  ): Promise<DispatchReport> {
    const { withdrawn, toSend } = withdrawnTimeouts(record, entries);
    const { done, failures } = await this.attempt(toSend);
    if (done.length + withdrawn.length > 0) {
      await this.store.markDispatched(record.sagaType, record.id, [...done, ...withdrawn]);
    }
    this.checkLease(record, toSend, done);
    let deadLettered = 0;
    for (const entry of toSend) {
      if (!failures.has(entry.id)) continue;
      const error = describe(failures.get(entry.id));
      const attempts = entry.attempts ?? 1;
      if (attempts >= this.deps.policy.maxAttempts) {
        await this.deadLetter(
          record,
          { ...entry, lastError: error },
          `${attempts} attempts failed; last: ${error}`,
        );
        deadLettered++;
        continue;
      }
      const nextAttemptAt = new Date(this.deps.now().getTime() + this.backoff(attempts));
      await this.store.recordOutboxFailure(record.sagaType, record.id, entry.id, token, {
        nextAttemptAt,
        error,
      });
      this.deps.logger.warn('outbox entry could not be dispatched; it will be tried again', {
        sagaType: record.sagaType,
        sagaId: record.id,
        entryId: entry.id,
        attempts,
        nextAttemptAt: nextAttemptAt.toISOString(),
        error,
      });
    }
    return { sent: done.length, failed: failures.size - deadLettered, deadLettered, skipped: 0 };
  }

  /**
   * Claims the entries among `entries` (as read in `record`, default all its outbox) whose lease or
   * backoff has passed, then carries them out (see {@link OutboxDispatcher.dispatchClaimed}). An
   * entry another process claimed since the read is left to it. An entry that already began more
   * than `maxAttempts` attempts (its process died during the last one) is dead-lettered unsent.
   */
  async dispatchDue(
    record: SagaRecord,
    entries: readonly OutboxEntry[] = record.outbox,
  ): Promise<DispatchReport> {
    const wanted = new Set(entries.map((e) => e.id));
    let current = record;
    let candidates = entries;
    for (let round = 0; round < CLAIM_ROUNDS; round++) {
      const now = this.deps.now().getTime();
      const due = candidates.filter((e) => this.dueAt(e) <= now);
      const skipped = candidates.length - due.length;
      if (due.length === 0) return { sent: 0, failed: 0, deadLettered: 0, skipped };
      const token = newToken();
      const until = new Date(now + this.deps.policy.leaseMs);
      const claims = due.map((e) => ({ entryId: e.id, expectedClaim: e.claim }));
      if (await this.store.claimOutbox(current.sagaType, current.id, claims, { token, until })) {
        const claimed = due.map((e) => ({
          ...e,
          attempts: (e.attempts ?? 0) + 1,
          claim: token,
          nextAttemptAt: until,
        }));
        let deadLettered = 0;
        for (const entry of claimed.filter((e) => e.attempts > this.deps.policy.maxAttempts)) {
          const last = entry.lastError ?? 'the process died during the attempt';
          await this.deadLetter(
            current,
            entry,
            `${entry.attempts - 1} attempts begun, none confirmed; last: ${last}`,
          );
          deadLettered++;
        }
        const rest = claimed.filter((e) => e.attempts <= this.deps.policy.maxAttempts);
        const report = await this.dispatchClaimed(current, rest, token);
        return { ...report, deadLettered: report.deadLettered + deadLettered, skipped };
      }
      const fresh = await this.store.findById(current.sagaType, current.id);
      if (!fresh) break;
      current = fresh;
      candidates = fresh.outbox.filter((e) => wanted.has(e.id));
    }
    return { sent: 0, failed: 0, deadLettered: 0, skipped: candidates.length };
  }

  /**
   * Reports entries carried out after their claim's lease ended: another process may have claimed
   * and sent them too (a duplicate the receivers' inboxes absorb), or dead-lettered them while this
   * send was delivered. A lease shorter than a send plus the marking write does this; each
   * occurrence is logged with the entry ids and counted (`endpoint.counters.outboxLeaseOverruns`).
   */
  private checkLease(record: Record_, entries: readonly OutboxEntry[], done: readonly string[]): void {
    if (done.length === 0) return;
    let leaseEnd = Infinity;
    for (const entry of entries) leaseEnd = Math.min(leaseEnd, entry.nextAttemptAt?.getTime() ?? Infinity);
    const now = this.deps.now().getTime();
    if (now <= leaseEnd) return;
    this.deps.counters.outboxLeaseOverruns += done.length;
    this.deps.logger.warn(
      'outbox lease overran: another process may also have sent or dead-lettered these entries',
      {
        sagaType: record.sagaType,
        sagaId: record.id,
        entryIds: [...done],
        overranMs: now - leaseEnd,
        hint: 'lengthen outbox.lease beyond the longest send plus a store write',
      },
    );
  }

  /** When an entry may be claimed: its `nextAttemptAt`, or (stored before claims) `createdAt` + lease. */
  private dueAt(entry: OutboxEntry): number {
    return entry.nextAttemptAt?.getTime() ?? entry.createdAt.getTime() + this.deps.policy.leaseMs;
  }

  /** The wait after the `attempts`-th failed attempt. */
  private backoff(attempts: number): number {
    const { retryDelayMs, retryMaxDelayMs } = this.deps.policy;
    return Math.min(retryMaxDelayMs, retryDelayMs * 2 ** Math.min(attempts - 1, 30));
  }

  /** Puts the entry in the dead letters (idempotent by id), then removes it from the outbox. */
  private async deadLetter(record: Record_, entry: OutboxEntry, reason: string): Promise<void> {
    await this.store.deadLetters.put({
      entry,
      sagaType: record.sagaType,
      sagaId: record.id,
      reason,
      deadLetteredAt: this.deps.now(),
    });
    await this.store.markDispatched(record.sagaType, record.id, [entry.id]);
    this.deps.counters.outboxDeadLettered++;
    this.deps.logger.error('outbox entry dead-lettered: list and replay it with endpoint.outboxDeadLetters', {
      sagaType: record.sagaType,
      sagaId: record.id,
      entryId: entry.id,
      operation: entry.operation,
      destination: entry.destination,
      reason,
    });
  }

  /** Publishes or sends one message entry (its message possibly carrying a send span's context). */
  private transmit(entry: OutboxEntry, wire: WireMessage): Promise<void> {
    return entry.operation === 'publish'
      ? this.transport.publish(wire)
      : this.transport.send(wire, entry.destination!);
  }

  /** Sends or publishes a message entry, in a send span when telemetry is live. */
  private transmitStored(entry: OutboxEntry): Promise<void> {
    const wire = fromStoredMessage(entry.message!);
    const telemetry = this.deps.telemetry;
    return telemetry?.live
      ? telemetry.send(entry.operation as 'publish' | 'send', entry.destination, wire, (message) =>
          this.transmit(entry, message),
        )
      : this.transmit(entry, wire);
  }

  /** Stores one `schedule` entry's timeout (its message possibly carrying a schedule span's context). */
  private storeTimeout(entry: OutboxEntry, message: NonNullable<OutboxEntry['message']>): Promise<void> {
    return this.timeouts.schedule({
      id: entry.id,
      dueAt: entry.dueAt!,
      destination: entry.destination!,
      message,
      sagaType: message.headers[Headers.sagaType],
      sagaId: message.headers[Headers.sagaId],
    });
  }

  /** Carries out entries; never rejects for a failed entry (it is in `failures`, with its error). */
  private async attempt(
    entries: readonly OutboxEntry[],
  ): Promise<{ done: string[]; failures: Map<string, unknown> }> {
    const done: string[] = [];
    const failures = new Map<string, unknown>();
    const [only] = entries;
    if (entries.length === 1 && only && isMessage(only)) {
      // The common case (one message emitted): what the general path below does, without its arrays.
      const sending = this.transmitStored(only);
      try {
        await sending;
        done.push(only.id);
      } catch (error) {
        failures.set(only.id, error);
      }
      return { done, failures };
    }
    let earliest: Date | undefined;
    try {
      for (const entry of entries) {
        if (entry.operation === 'schedule') {
          const telemetry = this.deps.telemetry;
          if (telemetry?.live) {
            await telemetry.schedule(entry.message!, entry.dueAt!, entry.destination!, (message) =>
              this.storeTimeout(entry, message),
            );
          } else await this.storeTimeout(entry, entry.message!);
          if (!earliest || entry.dueAt! < earliest) earliest = entry.dueAt!;
          done.push(entry.id);
        } else if (entry.operation === 'cancel') {
          await this.timeouts.cancel(entry.timeoutId!);
          done.push(entry.id);
        }
      }
    } catch (error) {
      // A failed timeout write sends none of the messages: the whole rest fails with it.
      for (const entry of entries) if (!done.includes(entry.id)) failures.set(entry.id, error);
      return { done, failures };
    } finally {
      if (earliest) this.onScheduled(earliest);
    }
    const messages = entries.filter(isMessage);
    const results = await Promise.allSettled(messages.map((entry) => this.transmitStored(entry)));
    messages.forEach((entry, i) => {
      const result = results[i];
      if (result?.status === 'fulfilled') done.push(entry.id);
      else failures.set(entry.id, result?.reason);
    });
    return { done, failures };
  }
}

/** Whether an entry carries a message to send or publish (not a timeout change). */
function isMessage(entry: OutboxEntry): boolean {
  return entry.operation === 'publish' || entry.operation === 'send';
}

/**
 * Splits claimed entries into the timeouts the record no longer lists (`withdrawn`: cancelled or
 * fired since their commit, only to be removed) and the rest (`toSend`).
 */
function withdrawnTimeouts(
  record: Record_,
  entries: readonly OutboxEntry[],
): { withdrawn: string[]; toSend: readonly OutboxEntry[] } {
  if (!entries.some((e) => e.operation === 'schedule')) return { withdrawn: [], toSend: entries };
  const live = new Set(record.timeouts.map((t) => t.id));
  const withdrawn = entries.filter((e) => e.operation === 'schedule' && !live.has(e.id)).map((e) => e.id);
  return { withdrawn, toSend: entries.filter((e) => !withdrawn.includes(e.id)) };
}

function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > 1000 ? `${text.slice(0, 1000)}…` : text;
}

/** Some outbox entries could not be dispatched; `dispatched` lists those that were. */
export class PartialDispatchError extends LonghaulError {
  constructor(
    readonly dispatched: readonly string[],
    cause: unknown,
  ) {
    super('dispatch-failed', `Dispatching the outbox failed: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
    });
  }
}
