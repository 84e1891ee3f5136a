import { LonghaulError } from '../errors.js';
import {
  type OutboxDeadLetter,
  type OutboxDeadLetterStore,
  type OutboxEntry,
} from '../persistence/saga-store.js';
import { type Logger } from '../util/logger.js';

/** Which dead letters {@link OutboxDeadLetters.list} returns. */
export interface DeadLetterFilter {
  /** Only those of this saga (or `workflow:<name>`) type. */
  readonly sagaType?: string;
  /** Only those of this instance id. */
  readonly sagaId?: string;
}

/**
 * The outbox's dead letters, for operators and tooling: entries that failed their last dispatch
 * attempt, each with its saga instance, attempts, last error and reason. `replay` carries an entry
 * out again with the **same message id** (so a receiver that got an earlier copy drops it), then
 * removes the dead letter; `delete` drops one for good. Reached as `endpoint.outboxDeadLetters`.
 *
 * Replay is at least once: a crash between the send and the removal leaves the dead letter, and a
 * second replay sends the same id again. A replayed `schedule` stores its timeout again; if the
 * saga has moved on, the timeout is ignored when it fires (it is no longer pending on the instance).
 * @example
 * ```ts
 * for (const letter of await endpoint.outboxDeadLetters.list({ sagaType: 'OrderFulfilment' })) {
 *   console.log(letter.entry.id, letter.entry.destination, letter.reason);
 * }
 * await endpoint.outboxDeadLetters.replayAll({ sagaType: 'OrderFulfilment' });
 * ```
 */
export class OutboxDeadLetters {
  constructor(
    private readonly store: OutboxDeadLetterStore,
    /** Carries out entries as the outbox does (timeouts first); rejects if one failed. */
    private readonly dispatch: (entries: readonly OutboxEntry[]) => Promise<unknown>,
    private readonly logger: Logger,
  ) {}

  /** Dead letters matching `filter`, ordered by entry id; page with `after` (the last id seen). */
  list(
    filter: DeadLetterFilter = {},
    page: { limit?: number; after?: string } = {},
  ): Promise<OutboxDeadLetter[]> {
    return this.store.list(filter, { limit: page.limit ?? 100, after: page.after });
  }

  /** One dead letter by entry id (= the outgoing message id), if any. */
  get(entryId: string): Promise<OutboxDeadLetter | undefined> {
    return this.store.get(entryId);
  }

  /**
   * Carries the entry out again with its original message id, then removes the dead letter.
   * Rejects (and keeps the dead letter) if the send fails; throws `dead-letter-not-found` if there
   * is none with this id.
   */
  async replay(entryId: string): Promise<void> {
    const letter = await this.store.get(entryId);
    if (!letter) {
      throw new LonghaulError('dead-letter-not-found', `No outbox dead letter with entry id '${entryId}'`);
    }
    const { entry } = letter;
    await this.dispatch([
      {
        id: entry.id,
        operation: entry.operation,
        message: entry.message,
        destination: entry.destination,
        dueAt: entry.dueAt,
        timeoutId: entry.timeoutId,
        sourceMessageId: entry.sourceMessageId,
        createdAt: entry.createdAt,
      },
    ]);
    await this.store.delete(entryId);
    this.logger.info('outbox dead letter replayed', {
      entryId,
      sagaType: letter.sagaType,
      sagaId: letter.sagaId,
    });
  }

  /**
   * Replays every dead letter matching `filter`; one that fails again stays and is counted in
   * `failed` (with its error), the others go on.
   */
  async replayAll(
    filter: DeadLetterFilter = {},
  ): Promise<{ replayed: number; failed: { entryId: string; error: string }[] }> {
    let replayed = 0;
    const failed: { entryId: string; error: string }[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.store.list(filter, { limit: 100, after });
      for (const letter of page) {
        try {
          await this.replay(letter.entry.id);
          replayed++;
        } catch (error) {
          failed.push({ entryId: letter.entry.id, error: (error as Error).message });
        }
      }
      if (page.length < 100) break;
      after = page.at(-1)?.entry.id;
    }
    return { replayed, failed };
  }

  /** Removes a dead letter without replaying it; resolves `true` if it existed. */
  delete(entryId: string): Promise<boolean> {
    return this.store.delete(entryId);
  }
}
