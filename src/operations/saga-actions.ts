/** Steering sagas: timeouts, outbox entries, completion. Each call is recorded. */
import { ConcurrencyError, LonghaulError } from '../errors.js';
import { type OutboxEntry, type SagaRecord, type SagaStore } from '../persistence/saga-store.js';
import { type TimeoutStore } from '../timeouts/timeout-store.js';
import { derivedId } from '../util/ids.js';
import { type ActionLog } from './action-log.js';
import { type ActionOptions, type InstanceRef, type SagaActionsApi } from './api.js';
import { type Instances, targetOf } from './instances.js';

/** Reloads and commits again this many times when a handler commits in between. */
const COMMIT_ATTEMPTS = 5;

/** @internal The {@link SagaActionsApi} of `OperationsClient`. */
export class SagaActions implements SagaActionsApi {
  constructor(
    private readonly store: SagaStore,
    private readonly instances: Instances,
    private readonly log: ActionLog,
    private readonly now: () => Date,
    private readonly timeouts: TimeoutStore | undefined,
    private readonly tombstoneRetentionMs: number,
  ) {}

  async cancelTimeout(ref: InstanceRef, timeoutId: string, options?: ActionOptions): Promise<void> {
    const record = await this.saga(ref);
    await this.log.run('saga.cancel-timeout', targetOf(record), options, timeoutId, async () => {
      const cancel = await this.change(ref, (r, now) => {
        if (!r.timeouts.some((t) => t.id === timeoutId)) {
          throw new LonghaulError('not-found', `${describe(r)} has no pending timeout '${timeoutId}'`);
        }
        return {
          record: { ...r, timeouts: r.timeouts.filter((t) => t.id !== timeoutId) },
          outbox: [cancelEntry(r, timeoutId, now)],
        };
      });
      await this.cancelNow(cancel.record, cancel.outbox);
    });
  }

  async fireTimeout(ref: InstanceRef, timeoutId: string, options?: ActionOptions): Promise<void> {
    const record = await this.saga(ref);
    await this.log.run('saga.fire-timeout', targetOf(record), options, timeoutId, async () => {
      if (!record.timeouts.some((t) => t.id === timeoutId)) {
        throw new LonghaulError('not-found', `${describe(record)} has no pending timeout '${timeoutId}'`);
      }
      const store = this.requireTimeouts('fire a timeout now');
      const stored = (await store.listBySaga(record.sagaType, record.id)).find((t) => t.id === timeoutId);
      if (!stored) {
        throw new LonghaulError(
          'not-found',
          `Timeout '${timeoutId}' of ${describe(record)} is not in the timeout store (its outbox entry may still be pending, or it is being delivered)`,
        );
      }
      // The store keeps the first of two schedules of one id: take it out, then put it back due now.
      await store.cancel(timeoutId);
      await store.schedule({ ...stored, dueAt: this.now() });
    });
  }

  async retryOutbox(ref: InstanceRef, entryId: string, options?: ActionOptions): Promise<void> {
    const record = await this.saga(ref);
    await this.log.run('saga.retry-outbox', targetOf(record), options, entryId, async () => {
      const entry = outboxEntry(record, entryId);
      // Never claimed: it is due since its creation. Claimed: end the claim's wait now, so the
      // outbox sweeper takes it on its next pass (receivers dedupe if the holder still sends it).
      if (entry.claim === undefined) return;
      const moved = await this.store.recordOutboxFailure(record.sagaType, record.id, entryId, entry.claim, {
        nextAttemptAt: this.now(),
        error: entry.lastError ?? 'retry requested by an operator',
      });
      if (!moved) {
        throw new ConcurrencyError(
          `Outbox entry '${entryId}' of ${describe(record)} was taken meanwhile; look again`,
        );
      }
    });
  }

  async deadLetterOutbox(ref: InstanceRef, entryId: string, options?: ActionOptions): Promise<void> {
    const record = await this.saga(ref);
    await this.log.run('saga.dead-letter-outbox', targetOf(record), options, entryId, async () => {
      const entry = outboxEntry(record, entryId);
      // Put before removing (the port's order): a crash in between leaves it in both places.
      await this.store.deadLetters.put({
        entry,
        sagaType: record.sagaType,
        sagaId: record.id,
        reason: `dead-lettered by an operator${options?.reason ? `: ${options.reason}` : ''} (attempts ${entry.attempts ?? 0}${entry.lastError !== undefined ? `, last error: ${entry.lastError}` : ''})`,
        deadLetteredAt: this.now(),
      });
      await this.store.markDispatched(record.sagaType, record.id, [entryId]);
    });
  }

  async complete(ref: InstanceRef, options?: ActionOptions): Promise<void> {
    const record = await this.saga(ref);
    await this.log.run('saga.complete', targetOf(record), options, undefined, async () => {
      const done = await this.change(ref, (r, now) => {
        if (r.status === 'completed')
          throw new LonghaulError('completed', `${describe(r)} is already completed`);
        return {
          record: {
            ...r,
            status: 'completed',
            state: null,
            timeouts: [],
            retainUntil: new Date(now.getTime() + this.tombstoneRetentionMs),
          },
          outbox: r.timeouts.map((t) => cancelEntry(r, t.id, now)),
        };
      });
      await this.cancelNow(done.record, done.outbox);
    });
  }

  /** The saga behind `ref` (workflows have their own actions). */
  private async saga(ref: InstanceRef): Promise<SagaRecord> {
    if (ref.kind !== 'saga') {
      throw new LonghaulError(
        'not-a-saga',
        `${ref.type} '${ref.id}' is a workflow: use the workflow actions`,
      );
    }
    return this.instances.require(ref);
  }

  /** Commits `change` of the current record (version + 1), reloading on a conflict. */
  private async change(
    ref: InstanceRef,
    change: (record: SagaRecord, now: Date) => { record: SagaRecord; outbox: OutboxEntry[] },
  ): Promise<{ record: SagaRecord; outbox: OutboxEntry[] }> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.instances.require(ref);
      const now = this.now();
      const next = change(current, now);
      const { outbox: _pending, ...rest } = next.record;
      try {
        await this.store.commit({
          expectedVersion: current.version,
          newOutbox: next.outbox,
          record: { ...rest, version: current.version + 1, updatedAt: now },
        });
        return next;
      } catch (error) {
        if (!(error instanceof ConcurrencyError) || attempt >= COMMIT_ATTEMPTS) throw error;
      }
    }
  }

  /** Cancels in the timeout store at once when there is one (else the outbox sweeper will). */
  private async cancelNow(record: SagaRecord, entries: readonly OutboxEntry[]): Promise<void> {
    if (!this.timeouts || entries.length === 0) return;
    for (const entry of entries)
      if (entry.timeoutId !== undefined) await this.timeouts.cancel(entry.timeoutId);
    await this.store.markDispatched(
      record.sagaType,
      record.id,
      entries.map((e) => e.id),
    );
  }

  private requireTimeouts(what: string): TimeoutStore {
    if (!this.timeouts) {
      throw new LonghaulError(
        'unavailable',
        `To ${what}, give the OperationsClient the timeout store (option 'timeouts')`,
      );
    }
    return this.timeouts;
  }
}

function cancelEntry(record: SagaRecord, timeoutId: string, now: Date): OutboxEntry {
  const source = derivedId('operations', record.sagaType, record.id, record.version, timeoutId);
  return {
    id: derivedId(source, 'cancel'),
    operation: 'cancel',
    timeoutId,
    sourceMessageId: source,
    createdAt: now,
  };
}

function outboxEntry(record: SagaRecord, entryId: string): OutboxEntry {
  const entry = record.outbox.find((e) => e.id === entryId);
  if (!entry)
    throw new LonghaulError('not-found', `${describe(record)} has no pending outbox entry '${entryId}'`);
  return entry;
}

function describe(record: SagaRecord): string {
  return `Saga ${record.sagaType} '${record.id}'`;
}
