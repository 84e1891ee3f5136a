import { NonRetryableError } from '../errors.js';
import { type Handler, type HandlerContext } from '../handlers/handler.js';
import { type SagaStore } from '../persistence/saga-store.js';
import { type Logger } from '../util/logger.js';
import { WORKFLOW_SAGA } from './engine.js';
import { HistoryIndex, type WorkflowState } from './history.js';
import { type ActivityContext, type ActivityRef } from './definitions.js';
import { toFailure } from './failure.js';
import { checkSize, tooLargeFailure } from './limits.js';
import { ExecuteActivity, OperationResult } from './messages.js';
import { retryDelay } from './retry.js';

/**
 * Runs activities: one `ExecuteActivity` message is one attempt. Success or a final failure goes
 * back to the workflow instance as an `OperationResult`; a retryable failure schedules the next
 * attempt after the policy's backoff (through the timeout store, so it survives restarts).
 * Activities run at least once per attempt: a crash before the result is committed runs the
 * attempt again, so activities with side effects should be idempotent.
 */
export class ActivityWorker implements Handler<ExecuteActivity> {
  constructor(
    private readonly activities: ReadonlyMap<string, ActivityRef>,
    private readonly resolve: (ctor: new (...args: any[]) => object) => object,
    private readonly endpoint: string,
    private readonly logger: Logger,
    private readonly store: SagaStore,
    /** Results that would encode over this fail with `payload-too-large`. @defaultValue 1 MiB */
    private readonly maxBodyBytes: number = 1024 * 1024,
  ) {}

  /**
   * True when the instance already holds an outcome for this operation (a redelivered or duplicated
   * command after the result was committed): running the activity again would only repeat its effect.
   */
  private async alreadyDone(msg: ExecuteActivity): Promise<boolean> {
    const record = await this.store.findByCorrelation(WORKFLOW_SAGA, msg.instanceId);
    const state = record?.state as WorkflowState | null | undefined;
    if (!state) return false; // not in this store (activities hosted apart): run it
    if (state.generation !== msg.generation || (state.epoch ?? 0) !== (msg.epoch ?? 0)) return true;
    if (state.status !== 'running' && state.status !== 'parked') return true;
    return new HistoryIndex([...state.history]).operations.get(msg.seq)?.outcome !== undefined;
  }

  async handle(msg: ExecuteActivity, ctx: HandlerContext): Promise<void> {
    const ref = this.activities.get(msg.activity);
    if (!ref) {
      throw new NonRetryableError(
        `Activity '${msg.activity}' is not registered on endpoint '${this.endpoint}'`,
        {
          code: 'unknown-activity',
        },
      );
    }
    if (await this.alreadyDone(msg)) {
      this.logger.info('activity already has an outcome; not run again', {
        activity: msg.activity,
        seq: msg.seq,
      });
      return;
    }
    const context: ActivityContext = {
      attempt: msg.attempt,
      workflowInstanceId: msg.instanceId,
      activity: msg.activity,
    };
    let value: unknown;
    try {
      value =
        typeof ref === 'object'
          ? await ref.fn(msg.input, context)
          : await (this.resolve(ref) as { execute(i: unknown, c: ActivityContext): unknown }).execute(
              msg.input,
              context,
            );
    } catch (error) {
      const failure = toFailure(error);
      const final =
        error instanceof NonRetryableError ||
        msg.retry.nonRetryableErrors.includes(failure.name) ||
        msg.attempt >= msg.retry.maximumAttempts;
      if (final) {
        await ctx.send(
          new OperationResult(msg.instanceId, msg.generation, msg.seq, false, undefined, failure, msg.epoch),
          {
            to: msg.replyTo,
          },
        );
        return;
      }
      const next = msg.attempt + 1;
      this.logger.info('activity failed; retrying', {
        activity: msg.activity,
        attempt: msg.attempt,
        error: failure.message,
      });
      const retry = new ExecuteActivity(
        msg.instanceId,
        msg.generation,
        msg.seq,
        msg.activity,
        msg.input,
        next,
        msg.retry,
        msg.replyTo,
        msg.epoch,
      );
      await ctx.schedule(retry, { after: retryDelay(msg.retry, next) }, { to: this.endpoint });
      return;
    }
    let reply = new OperationResult(
      msg.instanceId,
      msg.generation,
      msg.seq,
      true,
      value,
      undefined,
      msg.epoch,
    );
    const tooLarge = checkSize(`The result of activity '${msg.activity}'`, reply, this.maxBodyBytes);
    if (tooLarge) {
      this.logger.warn('activity result too large for a message; the operation fails', {
        activity: msg.activity,
        bytes: tooLarge.bytes,
        limit: tooLarge.limit,
      });
      const failure = tooLargeFailure(tooLarge);
      reply = new OperationResult(
        msg.instanceId,
        msg.generation,
        msg.seq,
        false,
        undefined,
        failure,
        msg.epoch,
      );
    }
    await ctx.send(reply, { to: msg.replyTo });
  }
}
