import { type Bus } from '../bus/bus.js';
import { LonghaulError } from '../errors.js';
import { type MessageClass, messageTypeOf } from '../messages/registry.js';
import { type SagaRecord, type SagaStore } from '../persistence/saga-store.js';
import { type Duration, toMillis } from '../util/duration.js';
import { derivedId, newId } from '../util/ids.js';
import { OperationFailedError } from './context.js';
import { type WorkflowClass, workflowNameOf } from './definitions.js';
import { WORKFLOW_SAGA } from './engine.js';
import {
  HistoryIndex,
  historyBytes,
  type OperationKind,
  type ParkedInfo,
  type WorkflowState,
  type WorkflowStatusName,
} from './history.js';
import { checkSize } from './limits.js';
import { exportHistory, type WorkflowHistory } from './history-export.js';
import {
  CancelWorkflow,
  type FailureInfo,
  ResetWorkflow,
  ResumeWorkflow,
  SignalWorkflow,
  StartWorkflow,
  TerminateWorkflow,
} from './messages.js';

/** What {@link WorkflowClient.status} reports. */
export interface WorkflowStatus {
  readonly id: string;
  readonly type: string;
  readonly status: WorkflowStatusName;
  readonly result?: unknown;
  readonly failure?: FailureInfo;
  /** Why it is parked (non-determinism) or terminated. */
  readonly reason?: string;
  /** While parked: where the replay diverged, what the history holds there, what the code asked for. */
  readonly parked?: ParkedInfo;
  readonly generation: number;
  /** How many times it was reset (`client.reset`). */
  readonly resets: number;
  /** The code versions (`buildId`) that wrote its history, oldest first, and the latest. */
  readonly builds: { readonly all: readonly string[]; readonly latest?: string };
  readonly history: {
    readonly events: number;
    readonly operations: number;
    readonly signalsWaiting: number;
    /** Bytes as stored. */
    readonly bytes: number;
    /** Patches the instance reached (`ctx.patched`). */
    readonly patches: readonly string[];
  };
  readonly pending: readonly {
    readonly seq: number;
    readonly op: OperationKind;
    readonly name: string;
    readonly since: Date;
  }[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly finishedAt?: Date;
}

/** Filter of {@link WorkflowClient.list}. */
export interface WorkflowListFilter {
  type?: WorkflowClass | string;
  status?: WorkflowStatusName;
  createdAfter?: Date;
  createdBefore?: Date;
}

/**
 * Starts and steers workflow instances, and reads their status. Inject it from the container, or
 * take `endpoint.workflows`.
 * @example
 * ```ts
 * const client = container.get(WorkflowClient);
 * await client.start(UserRegistration, { email: 'ada@example.com' }, { id: 'user-42' });
 * await client.signal('user-42', EmailVerified, new EmailVerified('user-42'));
 * const result = await client.result('user-42');
 * ```
 */
export class WorkflowClient {
  /** @internal */
  constructor(
    private readonly bus: Bus,
    private readonly store: SagaStore,
    private readonly endpoint: string,
    private readonly maxBodyBytes: number = 1024 * 1024,
    /** Picks the endpoint by workflow type (the endpoint's own client); without it, always `endpoint`. */
    private readonly targeting?: {
      /** Whether types may go elsewhere: an id's type is then read from the store. */
      readonly routed: boolean;
      pick(workflowType: string | undefined, id: string): string;
    },
  ) {}

  /** The endpoint hosting instance `id` (of `workflowType` when known): throws at once when unknown. */
  private async to(id: string, workflowType?: string): Promise<string> {
    if (!this.targeting) return this.endpoint;
    let type = workflowType;
    if (type === undefined && this.targeting.routed) {
      const record = await this.store.findByCorrelation(WORKFLOW_SAGA, id);
      type = (record?.state as WorkflowState | null | undefined)?.type;
    }
    return this.targeting.pick(type, id);
  }

  private checked(what: string, message: object): object {
    const error = checkSize(what, message, this.maxBodyBytes);
    if (error) throw error;
    return message;
  }

  /**
   * Starts an instance (by class, or by workflow type name); idempotent by id: starting an id that exists changes nothing and returns
   * that id. Resolves once the start message is accepted.
   */
  async start<I>(
    workflow: WorkflowClass<I> | string,
    input: I,
    options: { id?: string } = {},
  ): Promise<string> {
    const id = options.id ?? newId();
    const type = typeof workflow === 'string' ? workflow : workflowNameOf(workflow);
    await this.bus.send(this.checked('The workflow input', new StartWorkflow(id, type, input)), {
      to: await this.to(id, type),
      messageId: derivedId('start', id),
    });
    return id;
  }

  /**
   * Raises the event `event` (a message class, or its type name) on an instance: a `waitForEvent(event)` pending or to come receives
   * `payload`. With `signalId`, the call is idempotent: the message id derives from it, so a retried
   * call (an HTTP retry, a redelivered command) is recorded once. Duplicates are recognised while the
   * first is in the instance's saga inbox (its dedupe window, `sagaOptions.dedupeWindow`) or in
   * its current history (until `continueAsNew` or a reset drops it). Throws
   * {@link PayloadTooLargeError} when the payload would not fit in a message.
   */
  async signal<E extends object>(
    id: string,
    event: MessageClass<E> | string,
    payload: E,
    options: { signalId?: string } = {},
  ): Promise<void> {
    const name = typeof event === 'string' ? event : messageTypeOf(event).name;
    const message = this.checked('The signal payload', new SignalWorkflow(id, name, payload));
    await this.bus.send(message, {
      to: await this.to(id),
      ...(options.signalId !== undefined ? { messageId: derivedId('signal', id, options.signalId) } : {}),
    });
  }

  /** Asks a parked instance to try its replay now (it also does on its next message and at the recheck interval). */
  async resume(id: string): Promise<void> {
    await this.bus.send(new ResumeWorkflow(id), { to: await this.to(id) });
  }

  /**
   * Rewinds an instance to just after history event `afterEvent` (an index into the current
   * generation's history, as `history(id)` lists it; 0 is the start). A `reset` event is recorded;
   * the operations after that event run again; timers and children of the dropped part are
   * cancelled, and results still arriving for them are ignored; signals received in the dropped part
   * are kept. Works on running, parked and finished instances (a finished one runs again).
   * Throws when there is no such instance or event.
   */
  async reset(id: string, options: { afterEvent: number; reason: string }): Promise<void> {
    const record = await this.store.findByCorrelation(WORKFLOW_SAGA, id);
    const state = record?.state as WorkflowState | undefined;
    if (!state) throw new LonghaulError('not-found', `No workflow instance '${id}'`);
    const n = options.afterEvent;
    if (!Number.isInteger(n) || n < 0 || n >= state.history.length) {
      throw new LonghaulError(
        'invalid-reset',
        `afterEvent must be an event index from 0 to ${state.history.length - 1} of '${id}', got ${n}`,
      );
    }
    await this.bus.send(new ResetWorkflow(id, n, options.reason, state.generation), {
      to: await this.to(id, state.type),
    });
  }

  /** Requests cancellation: pending operations fail with `CancelledError`, and `run` may compensate. */
  async cancel(id: string, reason: string): Promise<void> {
    await this.bus.send(new CancelWorkflow(id, reason), { to: await this.to(id) });
  }

  /** Ends an instance at once, without running `run` again; its timers and children stop too. */
  async terminate(id: string, reason: string): Promise<void> {
    await this.bus.send(new TerminateWorkflow(id, reason), { to: await this.to(id) });
  }

  /** The status of an instance, or undefined when there is none. */
  async status(id: string): Promise<WorkflowStatus | undefined> {
    const record = await this.store.findByCorrelation(WORKFLOW_SAGA, id);
    return record ? summarize(record) : undefined;
  }

  /**
   * The instance's history (its current generation) in the portable export format, for replay
   * tests: `JSON.stringify` it to a file, check it with `replayHistory` or `longhaul workflows
   * replay`. Undefined when there is no such instance.
   */
  async history(id: string): Promise<WorkflowHistory | undefined> {
    const record = await this.store.findByCorrelation(WORKFLOW_SAGA, id);
    return record ? exportHistory(record.state as WorkflowState) : undefined;
  }

  /** Waits until the instance finishes; resolves with its result or rejects with its failure. */
  async result<O = unknown>(
    id: string,
    options: { timeout?: Duration; pollInterval?: Duration } = {},
  ): Promise<O> {
    const deadline = Date.now() + toMillis(options.timeout ?? '1m', 'timeout');
    const poll = toMillis(options.pollInterval ?? '50ms', 'pollInterval');
    for (;;) {
      const status = await this.status(id);
      if (status?.status === 'completed') return status.result as O;
      if (status && status.status !== 'running' && status.status !== 'parked') {
        throw new OperationFailedError(
          status.failure ?? {
            name: 'ParkedError',
            message: status.reason ?? status.status,
            code: status.status,
          },
        );
      }
      if (Date.now() > deadline) {
        const why = !status
          ? `no instance '${id}' is in the saga store this client reads: was it started on the endpoint that hosts its type, and does this process share that endpoint's store?`
          : status.status === 'parked'
            ? `it is parked: ${status.reason}`
            : `it is still ${status.status}`;
        throw new LonghaulError('timeout', `Workflow '${id}' did not finish in time: ${why}`);
      }
      await new Promise((resolve) => setTimeout(resolve, poll));
    }
  }

  /** Instances by type, status and creation time, ordered by internal id; pass `after` from the last page. */
  async list(
    filter: WorkflowListFilter = {},
    page: { limit?: number; after?: string } = {},
  ): Promise<{ items: WorkflowStatus[]; next?: string }> {
    const limit = page.limit ?? 100;
    const labels: Record<string, string> = {};
    if (filter.type)
      labels.workflowType = typeof filter.type === 'string' ? filter.type : workflowNameOf(filter.type);
    if (filter.status) labels.status = filter.status;
    const records = await this.store.list(
      WORKFLOW_SAGA,
      { labels, createdAfter: filter.createdAfter, createdBefore: filter.createdBefore },
      { limit, after: page.after },
    );
    return { items: records.map(summarize), next: records.length === limit ? records.at(-1)?.id : undefined };
  }

  /**
   * Deletes finished instances (completed, failed or terminated): those that finished before
   * `completedBefore`, or the one `instanceId`. Returns how many were deleted. Purging a running or
   * parked instance by id throws: terminate it first.
   */
  async purge(options: { completedBefore: Date } | { instanceId: string }): Promise<number> {
    if ('instanceId' in options) {
      const record = await this.store.findByCorrelation(WORKFLOW_SAGA, options.instanceId);
      if (!record) return 0;
      const status = (record.state as WorkflowState).status;
      if (status === 'running' || status === 'parked') {
        throw new LonghaulError(
          'not-finished',
          `Workflow '${options.instanceId}' is ${status}: terminate it before purging it`,
        );
      }
      return (await this.store.delete(WORKFLOW_SAGA, record.id)) ? 1 : 0;
    }
    let purged = 0;
    for (const status of ['completed', 'failed', 'terminated'] as const) {
      let after: string | undefined;
      for (;;) {
        const records = await this.store.list(
          WORKFLOW_SAGA,
          { labels: { status }, updatedBefore: options.completedBefore },
          { limit: 200, after },
        );
        for (const record of records) if (await this.store.delete(WORKFLOW_SAGA, record.id)) purged++;
        if (records.length < 200) break;
        after = records.at(-1)?.id;
      }
    }
    return purged;
  }
}

function summarize(record: SagaRecord): WorkflowStatus {
  const state = record.state as WorkflowState;
  const index = new HistoryIndex([...state.history]);
  const builds: string[] = [];
  for (const event of state.history) {
    if (event.build !== undefined && !builds.includes(event.build)) builds.push(event.build);
  }
  return {
    id: state.instanceId,
    type: state.type,
    status: state.status,
    result: state.result,
    failure: state.failure,
    reason: state.reason,
    ...(state.parked ? { parked: state.parked } : {}),
    generation: state.generation,
    resets: state.epoch ?? 0,
    builds: { all: builds, latest: builds.at(-1) },
    history: {
      events: state.history.length,
      operations: index.operations.size,
      signalsWaiting: state.history.filter((e) => e.e === 'signal' && !index.consumedSignals.has(e.id))
        .length,
      bytes: state.historyBytes ?? historyBytes(state.history),
      patches: [...index.patches.keys()],
    },
    pending: index.pending().map((o) => ({ seq: o.seq, op: o.op, name: o.name, since: o.since })),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    finishedAt: state.finishedAt,
  };
}
