import { type Transport } from '../bus/transport.js';
import {
  fromStoredMessage,
  type OutboxEntry,
  type SagaRecord,
  type SagaStore,
} from '../persistence/saga-store.js';
import { LonghaulError } from '../errors.js';
import { Headers } from '../messages/envelope.js';
import { type TimeoutStore } from '../timeouts/timeout-store.js';
import { type Clock } from '../util/clock.js';
import { type Logger } from '../util/logger.js';

/** How many recently dispatched entry ids a process remembers, to skip re-sending them. */
const SENT_MEMORY = 10_000;

/**
 * Carries out outbox entries: messages to the transport, timeouts to the timeout store. Used after
 * a commit, on redelivery of a handled message, by the sweeper, and (without a saga) by plain
 * handlers and the `Bus`.
 */
export class OutboxDispatcher {
  private readonly inFlight = new Set<string>();
  private readonly sent = new Set<string>();

  constructor(
    private readonly transport: Transport,
    private readonly timeouts: TimeoutStore,
    private readonly store: SagaStore,
    /** Told the earliest due time of the timeouts a dispatch scheduled. */
    private readonly onScheduled: (dueAt: Date) => void,
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
    const done: string[] = [];
    let earliest: Date | undefined;
    try {
      await this.applyTimeouts(entries, done, (dueAt) => {
        if (!earliest || dueAt < earliest) earliest = dueAt;
      });
    } catch (error) {
      throw new PartialDispatchError(done, error);
    } finally {
      if (earliest) this.onScheduled(earliest);
    }
    const messages = entries.filter((e) => e.operation === 'publish' || e.operation === 'send');
    const results = await Promise.allSettled(
      messages.map((entry) => {
        const wire = fromStoredMessage(entry.message!);
        return entry.operation === 'publish'
          ? this.transport.publish(wire)
          : this.transport.send(wire, entry.destination!);
      }),
    );
    done.push(...messages.filter((_, i) => results[i]?.status === 'fulfilled').map((e) => e.id));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw new PartialDispatchError(done, failure.reason);
    return done;
  }

  private async applyTimeouts(
    entries: readonly OutboxEntry[],
    done: string[],
    onSchedule: (dueAt: Date) => void,
  ): Promise<void> {
    for (const entry of entries) {
      if (entry.operation === 'schedule') {
        const message = entry.message!;
        await this.timeouts.schedule({
          id: entry.id,
          dueAt: entry.dueAt!,
          destination: entry.destination!,
          message,
          sagaType: message.headers[Headers.sagaType],
          sagaId: message.headers[Headers.sagaId],
        });
        onSchedule(entry.dueAt!);
      } else if (entry.operation === 'cancel') {
        await this.timeouts.cancel(entry.timeoutId!);
      }
      if (entry.operation === 'schedule' || entry.operation === 'cancel') done.push(entry.id);
    }
  }

  /**
   * Dispatches a saga's committed entries, then removes them from its outbox; when some failed,
   * still removes those that went out, so a retry re-sends only the rest.
   *
   * `record` is the instance as of the commit or later. A timeout it no longer lists was cancelled
   * or has fired since its entry was committed: a redelivery or the sweeper storing it now would
   * bring it back, to come due long after its saga moved on. Such an entry is only removed.
   * Resolves with the number of entries carried out by this call.
   */
  async dispatchCommitted(
    record: Pick<SagaRecord, 'sagaType' | 'id' | 'timeouts'>,
    entries: readonly OutboxEntry[],
  ): Promise<number> {
    const live = new Set(record.timeouts.map((t) => t.id));
    // Only marked: timeouts withdrawn since the commit, and entries this process sent recently (a
    // duplicate delivery loaded the record before the marking). An entry this process is sending
    // right now is left to that call (it marks it).
    const onlyMark = entries
      .filter((e) => this.sent.has(e.id) || (e.operation === 'schedule' && !live.has(e.id)))
      .map((e) => e.id);
    const toSend = entries.filter((e) => !onlyMark.includes(e.id) && !this.inFlight.has(e.id));
    for (const entry of toSend) this.inFlight.add(entry.id);
    let done: string[];
    try {
      done = await this.dispatch(toSend);
    } catch (error) {
      const dispatched = error instanceof PartialDispatchError ? [...error.dispatched] : [];
      this.remember(dispatched);
      if (dispatched.length + onlyMark.length > 0) {
        await this.store.markDispatched(record.sagaType, record.id, [...dispatched, ...onlyMark]);
      }
      throw error;
    } finally {
      for (const entry of toSend) this.inFlight.delete(entry.id);
    }
    this.remember(done);
    await this.store.markDispatched(record.sagaType, record.id, [...done, ...onlyMark]);
    return done.length;
  }

  /** Keeps the ids of the last {@link SENT_MEMORY} entries this process dispatched. */
  private remember(ids: readonly string[]): void {
    for (const id of ids) {
      this.sent.add(id);
      if (this.sent.size > SENT_MEMORY) this.sent.delete(this.sent.values().next().value as string);
    }
  }
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

/**
 * Dispatches outbox entries left behind by a process that committed and then died before
 * dispatching, and deletes expired tombstones.
 */
export class OutboxSweeper {
  private abort = new AbortController();
  private loop?: Promise<void>;

  constructor(
    private readonly store: SagaStore,
    private readonly outbox: OutboxDispatcher,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: { readonly intervalMs: number; readonly leaseMs: number },
  ) {}

  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.loop = (async () => {
      while (!this.abort.signal.aborted) {
        await this.clock.sleep(this.options.intervalMs, this.abort.signal);
        if (this.abort.signal.aborted) break;
        try {
          await this.sweepOnce();
        } catch (error) {
          this.logger.error('outbox sweep failed', { error: (error as Error).message });
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    this.loop = undefined;
  }

  /** One sweep; returns the number of entries dispatched. */
  async sweepOnce(): Promise<number> {
    const now = this.clock.now();
    const cutoff = now.getTime() - this.options.leaseMs;
    const stale = await this.store.findPendingOutbox(new Date(cutoff), 100);
    let dispatched = 0;
    for (const record of stale) {
      // Only entries past the lease: younger ones may still be on their way out from their committer.
      const entries = record.outbox.filter((e) => e.createdAt.getTime() < cutoff);
      try {
        dispatched += await this.outbox.dispatchCommitted(record, entries);
      } catch (error) {
        // One instance's failing entry (say, to a queue that is gone) must not stall the others.
        const done = error instanceof PartialDispatchError ? error.dispatched.length : 0;
        dispatched += done;
        this.logger.error('outbox sweeper could not dispatch an instance’s entries; it will try again', {
          sagaType: record.sagaType,
          id: record.id,
          error: (error as Error).message,
        });
      }
    }
    if (dispatched > 0) this.logger.warn('outbox sweeper dispatched entries left pending', { dispatched });
    await this.store.deleteExpiredTombstones(now);
    return dispatched;
  }
}
