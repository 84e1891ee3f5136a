import { type Transport } from '../bus/transport.js';
import {
  fromStoredMessage,
  type OutboxEntry,
  type SagaRecord,
  type SagaStore,
} from '../persistence/saga-store.js';
import { Headers } from '../messages/envelope.js';
import { type TimeoutStore } from '../timeouts/timeout-store.js';
import { type Clock } from '../util/clock.js';
import { type Logger } from '../util/logger.js';

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
    private readonly onScheduled: () => void,
  ) {}

  /** Dispatches entries in order: messages concurrently, then timeout changes in sequence. */
  async dispatch(entries: readonly OutboxEntry[]): Promise<void> {
    const messages = entries.filter((e) => e.operation === 'publish' || e.operation === 'send');
    await Promise.all(
      messages.map((entry) => {
        const wire = fromStoredMessage(entry.message!);
        return entry.operation === 'publish'
          ? this.transport.publish(wire)
          : this.transport.send(wire, entry.destination!);
      }),
    );
    let scheduled = false;
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
        scheduled = true;
      } else if (entry.operation === 'cancel') {
        await this.timeouts.cancel(entry.timeoutId!);
      }
    }
    if (scheduled) this.onScheduled();
  }

  /** Dispatches a saga's committed entries, then removes them from its outbox. */
  async dispatchCommitted(
    record: Pick<SagaRecord, 'sagaType' | 'id'>,
    entries: readonly OutboxEntry[],
  ): Promise<void> {
    await this.dispatch(entries);
    await this.store.markDispatched(
      record.sagaType,
      record.id,
      entries.map((e) => e.id),
    );
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
    const stale = await this.store.findPendingOutbox(new Date(now.getTime() - this.options.leaseMs), 100);
    let dispatched = 0;
    for (const record of stale) {
      await this.outbox.dispatchCommitted(record, record.outbox);
      dispatched += record.outbox.length;
    }
    if (dispatched > 0) this.logger.warn('outbox sweeper dispatched entries left pending', { dispatched });
    await this.store.deleteExpiredTombstones(now);
    return dispatched;
  }
}
