/**
 * Runs the steps of one replay (`ctx.step`): their attempts, the history events of their outcomes,
 * and the checkpoints that make those durable (see {@link StepRunner.run}).
 */
import { NonRetryableError } from '../errors.js';
import { type RetryPolicy, type StepInfo, type StepOptions } from './api.js';
import { toFailure } from './failure.js';
import { type HistoryIndex } from './history.js';
import { type FailureInfo, type ResolvedRetryPolicy } from './messages.js';
import { retryDelay } from './retry.js';

/** How the engine runs steps (see {@link ReplayHooks.steps}). */
export interface StepHooks {
  /** The step's retry policy over the endpoint's defaults (throws on a bad one). */
  retryPolicy(policy: RetryPolicy | undefined): ResolvedRetryPolicy;
  /** A failure when the result would not fit (`payload-too-large`), else undefined. */
  tooLarge(name: string, value: unknown): FailureInfo | undefined;
  /** Makes the history as it is now durable: one conditional write. Calls are serialised. */
  checkpoint(): Promise<void>;
}

/** Backoffs up to this are slept inline by the step (its failed attempt checkpointed first). */
export const INLINE_RETRY_MS = 50;

/** What the runner needs of the replay: its time and its timers. */
export interface StepReplay {
  readonly now: Date;
  startTimer(seq: number, dueAt: Date): string;
}

/** @internal One replay's steps. */
export class StepRunner {
  /** An engine error while running a step (a failed checkpoint): the handling fails with it. */
  error?: unknown;
  /** Step outcomes recorded and not yet checkpointed. */
  private unflushed = 0;

  constructor(
    private readonly index: HistoryIndex,
    private readonly replay: StepReplay,
    private readonly steps: StepHooks,
    private readonly instanceId: string,
  ) {}

  /**
   * Runs the attempts of a step: each outcome (success, final failure, or a failure to retry) is
   * appended to the history, and checkpointed before anything can act on it: before the next step
   * (or attempt) runs, else by the handling's commit. Workflow code between two steps only records
   * operations, which leave after that commit. A retry after a short backoff runs here; a longer
   * one waits on a durable timer and the next replay.
   */
  async run<T>(
    seq: number,
    name: string,
    fn: (info: StepInfo) => Promise<T> | T,
    firstAttempt: number,
    isNew: boolean,
    options: StepOptions | undefined,
  ): Promise<void> {
    let attempt = firstAttempt;
    let first = isNew;
    for (;;) {
      // What earlier steps recorded becomes durable before this one can act on it.
      if (!(await this.flush())) return;
      let outcome: { ok: true; value: unknown } | { ok: false; failure: FailureInfo; final: boolean };
      let policy: ResolvedRetryPolicy | undefined;
      try {
        policy = this.steps.retryPolicy(options?.retry);
        const value: unknown = await fn({ name, attempt, workflowInstanceId: this.instanceId });
        const tooLarge = this.steps.tooLarge(name, value);
        outcome = tooLarge ? { ok: false, failure: tooLarge, final: true } : { ok: true, value };
      } catch (error) {
        const failure = toFailure(error);
        outcome = {
          ok: false,
          failure,
          final:
            !policy ||
            error instanceof NonRetryableError ||
            policy.nonRetryableErrors.includes(failure.name) ||
            attempt >= policy.maximumAttempts,
        };
      }
      if (this.error !== undefined) return;
      const at = this.replay.now;
      if (first) this.index.append({ e: 'scheduled', seq, op: 'step', name, at });
      first = false;
      let inlineDelay: number | undefined;
      if (outcome.ok) {
        this.index.append({ e: 'completed', seq, value: outcome.value, at });
      } else if (outcome.final) {
        this.index.append({ e: 'failed', seq, failure: outcome.failure, at });
      } else {
        const delay = retryDelay(policy!, attempt + 1);
        if (delay <= INLINE_RETRY_MS) {
          inlineDelay = delay;
          this.index.append({ e: 'attempt-failed', seq, attempt, failure: outcome.failure, at });
        } else {
          const retryAt = new Date(at.getTime() + delay);
          try {
            const timerId = this.replay.startTimer(seq, retryAt);
            this.index.append({
              e: 'attempt-failed',
              seq,
              attempt,
              failure: outcome.failure,
              timerId,
              retryAt,
              at,
            });
          } catch (error) {
            this.error ??= error;
            return;
          }
        }
      }
      this.unflushed++;
      if (inlineDelay === undefined) return;
      await new Promise((resolve) => setTimeout(resolve, inlineDelay));
      attempt++;
    }
  }

  /**
   * Checkpoints the step outcomes recorded since the last checkpoint, if any: the one conditional
   * write per step happens before the next step runs, or with the handling's own commit when no
   * step follows. Resolves false when the checkpoint failed (the handling then fails).
   */
  private async flush(): Promise<boolean> {
    if (this.unflushed === 0) return this.error === undefined;
    this.unflushed = 0;
    try {
      await this.steps.checkpoint();
      return true;
    } catch (error) {
      this.error ??= error;
      return false;
    }
  }
}
