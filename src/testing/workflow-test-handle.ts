import { LonghaulError } from '../errors.js';
import { type MessageClass } from '../messages/registry.js';
import { type VirtualClock } from '../util/clock.js';
import { type Duration, toMillis } from '../util/duration.js';
import { type WorkflowClient, type WorkflowStatus } from '../workflows/client.js';
import { OperationFailedError } from '../workflows/context.js';
import { type WorkflowHistory } from '../workflows/history-export.js';
import { type HistoryReplayOptions, type HistoryReplayResult } from '../workflows/replay-check.js';
import { type SagaTestKit } from './saga-test-kit.js';

/** @internal What a handle needs of its kit (the {@link WorkflowTestKit}). */
export interface HandleHost {
  readonly client: WorkflowClient;
  readonly clock: VirtualClock;
  readonly sagaKit: SagaTestKit;
  idle(): Promise<void>;
  advance(by: Duration): Promise<void>;
  replayHistory(history: WorkflowHistory, options?: HistoryReplayOptions): Promise<HistoryReplayResult>;
}

/** Options of {@link WorkflowTestHandle.result}. */
export interface ResultOptions {
  /**
   * Skip time: while the instance waits and nothing is in flight, move the virtual clock to the
   * next timer (a `sleep`, a `waitForEvent` timeout, an activity retry). @defaultValue true
   */
  skipTime?: boolean;
  /** Virtual time allowed to pass before giving up. @defaultValue '3650d' */
  timeout?: Duration;
}

/** A workflow instance in the kit. Every call returns once the kit is idle. */
export class WorkflowTestHandle<O = unknown> {
  /** @internal */
  constructor(
    private readonly kit: HandleHost,
    readonly id: string,
  ) {}

  /** Raises `event` on the instance (see `WorkflowClient.signal`; `signalId` makes it idempotent). */
  async signal<E extends object>(
    event: MessageClass<E>,
    payload: E,
    options: { signalId?: string } = {},
  ): Promise<void> {
    await this.kit.client.signal(this.id, event, payload, options);
    await this.kit.idle();
  }

  /** Asks a parked instance to try its replay again now (see `WorkflowClient.resume`). */
  async resume(): Promise<void> {
    await this.kit.client.resume(this.id);
    await this.kit.idle();
  }

  /** Rewinds the instance to just after history event `afterEvent` (see `WorkflowClient.reset`). */
  async reset(afterEvent: number, reason = 'reset by test'): Promise<void> {
    await this.kit.client.reset(this.id, { afterEvent, reason });
    await this.kit.idle();
  }

  /** Requests cancellation. */
  async cancel(reason = 'cancelled by test'): Promise<void> {
    await this.kit.client.cancel(this.id, reason);
    await this.kit.idle();
  }

  /** Terminates the instance. */
  async terminate(reason = 'terminated by test'): Promise<void> {
    await this.kit.client.terminate(this.id, reason);
    await this.kit.idle();
  }

  /** The instance's status (it exists once started). */
  async status(): Promise<WorkflowStatus> {
    const status = await this.kit.client.status(this.id);
    if (!status)
      throw new LonghaulError('workflow-not-found', `No workflow instance '${this.id}' in the kit`);
    return status;
  }

  /** The instance's history in the export format (what `client.history` returns). */
  async history(): Promise<WorkflowHistory> {
    const history = await this.kit.client.history(this.id);
    if (!history)
      throw new LonghaulError('workflow-not-found', `No workflow instance '${this.id}' in the kit`);
    return history;
  }

  /**
   * Waits for the result, skipping virtual time while the instance waits on timers. Rejects with
   * an `OperationFailedError` when the instance failed, was terminated or parked, and with a
   * `stuck` error naming what it waits on when nothing the kit can do would move it on.
   */
  async result(options: ResultOptions = {}): Promise<O> {
    const skip = options.skipTime ?? true;
    const deadline = this.kit.clock.now().getTime() + toMillis(options.timeout ?? '3650d', 'timeout');
    for (;;) {
      await this.kit.idle();
      const status = await this.status();
      if (status.status === 'completed') return status.result as O;
      if (status.status !== 'running') {
        throw new OperationFailedError(
          status.failure ?? {
            name: 'ParkedError',
            message: status.reason ?? status.status,
            code: status.status,
          },
        );
      }
      const next = skip ? await this.kit.sagaKit.timeoutStore.nextDueAt() : undefined;
      if (!next || next.getTime() > deadline) {
        const waits = status.pending.map((p) => `${p.op} '${p.name}' (position ${p.seq})`).join(', ');
        const errors = this.kit.sagaKit.errors().map((e) => `${e.reason}: ${e.error}`);
        throw new LonghaulError(
          'stuck',
          `Workflow '${this.id}' is running and waits on ${waits || 'nothing'}, and ${
            next
              ? `the next timer is past the timeout`
              : skip
                ? 'no timer is scheduled'
                : 'time skipping is off'
          }: send the signal or answer the activity it waits on` +
            (errors.length > 0 ? `. The kit's error queue holds: ${errors.join('; ')}` : ''),
        );
      }
      await this.kit.advance(Math.max(1, next.getTime() - this.kit.clock.now().getTime()));
    }
  }

  /** Replays the instance's history against the kit's workflow code (a determinism smoke test). */
  async replay(options?: HistoryReplayOptions): Promise<HistoryReplayResult> {
    return this.kit.replayHistory(await this.history(), options);
  }
}
