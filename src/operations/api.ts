/**
 * # The operations API
 *
 * One client for the instances of both kinds (sagas and workflows) and for the endpoints' error
 * queues: what the web console, the HTTP API and the `longhaul` command line read and steer.
 * {@link OperationsApi} is the contract; `OperationsClient` (`client.ts`) implements it over the
 * `SagaStore` port, the `WorkflowClient`, the `TimeoutStore` port and an {@link ErrorQueueAccess}
 * (the RabbitMQ transport's error queues, or the in-memory transport's).
 *
 * What it gives:
 * - **Lists and counts** of instances by kind, type, status (parked and failed included), labels,
 *   creation and update time ranges and "outbox pending longer than", paged by an opaque cursor.
 * - **One instance in full**: state, version, dedupe window, outbox with attempts, pending timeouts
 *   with due times, labels, workflow history with times, recent errors and the actions taken on it.
 * - **Actions**, each recorded on the instance (when, what, the reason given, by whom): workflow
 *   signal, cancel, terminate, resume, reset and purge; saga timeout cancel and fire-now, outbox
 *   entry retry and dead-letter, complete; error queue list, show, replay and delete.
 *
 * Non-goals: queries on state fields (labels are the searchable part, set by `ctx.setLabels`),
 * full-text search, sorting by anything but the instance id, counts that are exact under
 * concurrent writes (they are a snapshot).
 */
import { type Duration } from '../util/duration.js';

/** Sagas are message-driven state machines; workflows are async/await `run` functions. */
export type InstanceKind = 'saga' | 'workflow';

/**
 * Where an instance is. Sagas are `active` or `completed` (a tombstone); workflows are `running`,
 * `parked` (their code no longer replays their history), `completed`, `failed` or `terminated`.
 */
export type InstanceStatus = 'active' | 'running' | 'parked' | 'completed' | 'failed' | 'terminated';

/** Every {@link InstanceStatus}, in display order. */
export const INSTANCE_STATUSES: readonly InstanceStatus[] = [
  'active',
  'running',
  'parked',
  'completed',
  'failed',
  'terminated',
];

/** Names one instance: its kind, its type (the saga name or the workflow name) and its id. */
export interface InstanceRef {
  readonly kind: InstanceKind;
  /** The `@Saga` or `@Workflow` name. */
  readonly type: string;
  /**
   * The instance id: a workflow's id (as given to `start`), a saga's instance id. Reads and
   * actions also accept a saga's correlation value here (`'o-1'` for the order `o-1`).
   */
  readonly id: string;
}

/** Which instances {@link InstancesApi.list} and {@link InstancesApi.counts} take; every given condition holds. */
export interface InstanceQuery {
  /** Only sagas or only workflows. @defaultValue both */
  readonly kind?: InstanceKind;
  /** Only these types (saga or workflow names). @defaultValue every type */
  readonly type?: string | readonly string[];
  /** Only these statuses. @defaultValue every status */
  readonly status?: InstanceStatus | readonly InstanceStatus[];
  /** Each label must equal the given value (labels set with `ctx.setLabels`). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Created at or after this time. */
  readonly createdFrom?: Date;
  /** Created before this time. */
  readonly createdTo?: Date;
  /** Last changed at or after this time. */
  readonly updatedFrom?: Date;
  /** Last changed before this time. */
  readonly updatedTo?: Date;
  /**
   * Only instances whose oldest pending outbox entry was created longer ago than this (a message
   * committed but not yet sent: the broker is down, the entry keeps failing).
   */
  readonly outboxPendingLongerThan?: Duration;
  /** Only the instance with this id: a workflow id, or a saga's instance id or correlation value. */
  readonly id?: string;
}

/** A page request: at most `limit` items, after the `cursor` of the previous page. */
export interface PageRequest {
  /** Items per page, 1 to 1000. @defaultValue 50 */
  readonly limit?: number;
  /** The `next` of the previous page; absent for the first page. */
  readonly cursor?: string;
}

/**
 * One page of results, in a stable order of the store's (MongoDB: a hash bucket of the id, then
 * the id; in memory: stored type, then id). A page may be short and still have `next`: a search
 * the store cannot narrow by an index returns what it found within about a second.
 */
export interface Page<T> {
  readonly items: readonly T[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  readonly next?: string;
}

/** One instance as lists show it. */
export interface InstanceSummary extends InstanceRef {
  readonly status: InstanceStatus;
  /** A saga's correlation value (a workflow's is its id). */
  readonly correlationKey: string;
  /** Increments on every commit. */
  readonly version: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** Outbox entries committed and not yet sent. */
  readonly outboxPending: number;
  /** When the oldest of them was committed. */
  readonly outboxOldestAt?: Date;
  /** Pending timeouts (a workflow's include its durable timers). */
  readonly timeoutsPending: number;
  /** The earliest pending timeout's due time. */
  readonly nextTimeoutAt?: Date;
}

/** How many instances there are of one kind, type and status. */
export interface InstanceCount {
  readonly kind: InstanceKind;
  readonly type: string;
  readonly status: InstanceStatus;
  readonly count: number;
}

/** What {@link InstancesApi.counts} returns: the total and one row per (kind, type, status). */
export interface InstanceCounts {
  readonly total: number;
  /** Sorted by kind, type, then status in {@link INSTANCE_STATUSES} order. */
  readonly groups: readonly InstanceCount[];
}

/** An outbox entry as `show` presents it. */
export interface OutboxEntryView {
  readonly id: string;
  readonly operation: 'publish' | 'send' | 'schedule' | 'cancel';
  /** The message type (absent for `cancel`). */
  readonly messageType?: string;
  readonly destination?: string;
  readonly createdAt: Date;
  /** Dispatch attempts begun. */
  readonly attempts: number;
  /** When the next attempt may start (the lease end or the end of the backoff). */
  readonly nextAttemptAt?: Date;
  readonly lastError?: string;
}

/** A pending timeout as `show` presents it. */
export interface TimeoutView {
  readonly id: string;
  /** The timeout's message type. */
  readonly type: string;
  readonly dueAt: Date;
}

/** The instance's dedupe window: the handled message ids it keeps. */
export interface DedupeWindowView {
  /** Ids kept. */
  readonly size: number;
  readonly oldestAt?: Date;
  readonly newestAt?: Date;
  /** The most recent ids, newest first (at most 20). */
  readonly recent: readonly { readonly id: string; readonly at: Date }[];
}

/** One event of a workflow's history, with its time. */
export interface HistoryEventView {
  /** Its index in the current generation (what `reset --after-event` takes). */
  readonly index: number;
  /** The event kind (`started`, `scheduled`, `completed`, `failed`, `signal`, `timer`, …). */
  readonly event: string;
  /** When it was recorded (absent on events stored without a time). */
  readonly at?: Date;
  /** What it names (an activity, a signal type, a child id), when it names one. */
  readonly name?: string;
  /** The rest of the event, as stored. */
  readonly details: Readonly<Record<string, unknown>>;
}

/** A recent error on an instance: an outbox entry failing, a dead letter, a workflow failure. */
export interface InstanceError {
  /** `outbox`, `outbox-dead-letter`, `workflow-failure`, `parked`, `activity`. */
  readonly source: string;
  readonly at?: Date;
  readonly message: string;
  /** The outbox entry, history event or dead letter it concerns. */
  readonly ref?: string;
}

/** The operator actions {@link OperationsApi} records. */
export type ActionName =
  | 'workflow.start'
  | 'workflow.signal'
  | 'workflow.cancel'
  | 'workflow.terminate'
  | 'workflow.resume'
  | 'workflow.reset'
  | 'workflow.purge'
  | 'saga.cancel-timeout'
  | 'saga.fire-timeout'
  | 'saga.retry-outbox'
  | 'saga.dead-letter-outbox'
  | 'saga.complete'
  | 'errors.replay'
  | 'errors.delete';

/** One action taken on an instance (or on an endpoint's error queue), as recorded. */
export interface ActionRecord {
  /** Unique id of the record. */
  readonly id: string;
  readonly action: ActionName;
  readonly at: Date;
  /** The instance (for `errors.*`: kind `saga`, type `error-queue:<endpoint>`, id the message id). */
  readonly target: InstanceRef;
  /** The reason the operator gave. @defaultValue '' */
  readonly reason: string;
  /** Who did it (the CLI records `$USER`, the console its caller). */
  readonly by?: string;
  /** What it acted on inside the instance: a timeout id, an outbox entry id, a history index. */
  readonly detail?: string;
  /** `done`, or `failed` with the error (a failed action is recorded too). */
  readonly outcome: 'done' | 'failed';
  readonly error?: string;
}

/** One instance in full. `State` is the saga's state or the workflow's input/result shape. */
export interface InstanceDetail<State = unknown> extends InstanceSummary {
  /** The saga's state (`null` for a completed saga); for a workflow, its input. */
  readonly state: State | null;
  /** The version of the saga state's shape (`@Saga(name, { stateVersion })`). */
  readonly stateVersion: number;
  readonly dedupe: DedupeWindowView;
  readonly outbox: readonly OutboxEntryView[];
  readonly timeouts: readonly TimeoutView[];
  /** A completed saga's tombstone: when it may be deleted. */
  readonly retainUntil?: Date;
  /** Workflows only: what `WorkflowClient.status` reports, plus the history with times. */
  readonly workflow?: WorkflowDetail;
  /** Newest first, at most 20. */
  readonly recentErrors: readonly InstanceError[];
  /** Actions taken on the instance, newest first (at most 50). */
  readonly actions: readonly ActionRecord[];
}

/** The workflow part of {@link InstanceDetail}. */
export interface WorkflowDetail {
  readonly input: unknown;
  readonly result?: unknown;
  readonly failure?: { readonly name: string; readonly message: string; readonly code?: string };
  /** Why it is parked or terminated. */
  readonly reason?: string;
  readonly generation: number;
  readonly resets: number;
  readonly finishedAt?: Date;
  /** Operations awaited and not yet answered. */
  readonly pending: readonly {
    readonly seq: number;
    readonly op: string;
    readonly name: string;
    readonly since: Date;
  }[];
  /** The current generation's history, oldest first. */
  readonly history: readonly HistoryEventView[];
}

/** Options every action takes. */
export interface ActionOptions {
  /** Why: recorded with the action. @defaultValue '' (terminate, cancel and reset require one) */
  readonly reason?: string;
  /** Who: recorded with the action. @defaultValue undefined */
  readonly by?: string;
}

/** A message in an endpoint's error queue. */
export interface ErrorMessageView {
  readonly messageId: string;
  /** The message type (header `longhaul.type`). */
  readonly type?: string;
  /** The failure code, e.g. `handler-error`, `decode/unknown-type`. */
  readonly reason: string;
  readonly error?: string;
  readonly attempts?: number;
  /** ISO 8601. */
  readonly failedAt?: string;
  /** The endpoint whose queue a replay returns it to. */
  readonly source: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The body as UTF-8 text, else base64. */
  readonly body: { readonly encoding: 'utf8' | 'base64'; readonly text: string };
}

/**
 * Which error-queue messages a replay or delete takes: all, these ids, or those matching a
 * filter (every given field must match).
 */
export type ErrorSelection =
  | { readonly all: true }
  | { readonly ids: readonly string[] }
  | {
      readonly filter: {
        /** The failure code, exactly. */
        readonly reason?: string;
        /** The message type, exactly. */
        readonly type?: string;
        /** Failed before this time. */
        readonly failedBefore?: Date;
      };
    };

/** What a replay or delete of error-queue messages did. */
export interface ErrorActionResult {
  /** Ids replayed or deleted (once per copy). */
  readonly done: readonly string[];
  /** Requested ids not found. */
  readonly missing: readonly string[];
  /** Messages that could not be moved or removed (they stay). */
  readonly failed: readonly { readonly messageId: string; readonly error: string }[];
}

/**
 * The error-queue operations of a transport: the RabbitMQ transport's `errorQueues` and the
 * in-memory transport's implement it. `list` and `show` leave messages in place.
 */
export interface ErrorQueueAccess {
  /** Messages waiting in the endpoint's error queue. */
  count(endpoint: string): Promise<number>;
  /** Up to `limit` messages, oldest first. */
  list(endpoint: string, options?: { readonly limit?: number }): Promise<ErrorMessageView[]>;
  show(endpoint: string, messageId: string): Promise<ErrorMessageView | undefined>;
  /** Moves messages back to the queue they failed on, without their failure headers. */
  replay(endpoint: string, selection: ErrorSelection): Promise<ErrorActionResult>;
  /** Removes messages for good. */
  delete(endpoint: string, selection: ErrorSelection): Promise<ErrorActionResult>;
}

/** Reading instances. */
export interface InstancesApi {
  /** Instances matching `query`, one page at a time, ordered by kind, type and id. */
  list(query?: InstanceQuery, page?: PageRequest): Promise<Page<InstanceSummary>>;
  /** How many instances match `query`, by kind, type and status. */
  counts(query?: InstanceQuery): Promise<InstanceCounts>;
  /** One instance in full, or `undefined`. */
  show(ref: InstanceRef): Promise<InstanceDetail | undefined>;
  /**
   * A typed read by class: `instances.get(OrderFulfilment, 'o-1')` (a `@Saga` or `@Workflow`
   * class, and the id or, for sagas, the correlation value).
   */
  get<State = unknown>(
    type: abstract new (...args: never[]) => unknown,
    id: string,
  ): Promise<InstanceDetail<State> | undefined>;
  /** The actions recorded on an instance, newest first. */
  actions(ref: InstanceRef, options?: { readonly limit?: number }): Promise<ActionRecord[]>;
}

/** Steering workflows (through the `WorkflowClient`); each call is recorded. */
export interface WorkflowActionsApi {
  /** Starts an instance (idempotent by id); resolves with its id. */
  start(type: string, input: unknown, options?: ActionOptions & { readonly id?: string }): Promise<string>;
  /** Raises event `eventType` (a registered message type name) with `payload`. */
  signal(
    id: string,
    eventType: string,
    payload: unknown,
    options?: ActionOptions & { readonly signalId?: string },
  ): Promise<void>;
  cancel(id: string, options: ActionOptions): Promise<void>;
  terminate(id: string, options: ActionOptions): Promise<void>;
  resume(id: string, options?: ActionOptions): Promise<void>;
  /** Rewinds to just after history event `afterEvent`. */
  reset(id: string, afterEvent: number, options: ActionOptions): Promise<void>;
  /** Deletes a finished instance; resolves `true` if it existed. */
  purge(id: string, options?: ActionOptions): Promise<boolean>;
}

/** Steering sagas; each call is recorded. */
export interface SagaActionsApi {
  /** Cancels a pending timeout: it is dropped from the instance and from the timeout store. */
  cancelTimeout(ref: InstanceRef, timeoutId: string, options?: ActionOptions): Promise<void>;
  /** Makes a pending timeout due now: the scheduler delivers it on its next poll. */
  fireTimeout(ref: InstanceRef, timeoutId: string, options?: ActionOptions): Promise<void>;
  /** Makes a pending outbox entry due now: the outbox sweeper sends it on its next pass. */
  retryOutbox(ref: InstanceRef, entryId: string, options?: ActionOptions): Promise<void>;
  /** Moves a pending outbox entry to the outbox's dead letters (replayable later). */
  deadLetterOutbox(ref: InstanceRef, entryId: string, options?: ActionOptions): Promise<void>;
  /** Completes the saga as its handler's `ctx.complete()` would: state dropped, timeouts cancelled. */
  complete(ref: InstanceRef, options?: ActionOptions): Promise<void>;
}

/** The endpoints' error queues; replay and delete are recorded. */
export interface ErrorQueuesApi {
  count(endpoint: string): Promise<number>;
  list(endpoint: string, options?: { readonly limit?: number }): Promise<ErrorMessageView[]>;
  show(endpoint: string, messageId: string): Promise<ErrorMessageView | undefined>;
  /**
   * The replays and deletes recorded on an endpoint's error queue (with `messageId`: on that
   * message), newest first, each with its reason: a message leaves the queue, its record stays.
   * Needs no broker. `limit` 1 to 1000. @defaultValue limit 50
   */
  actions(
    endpoint: string,
    options?: { readonly messageId?: string; readonly limit?: number },
  ): Promise<ActionRecord[]>;
  replay(endpoint: string, selection: ErrorSelection, options?: ActionOptions): Promise<ErrorActionResult>;
  delete(endpoint: string, selection: ErrorSelection, options?: ActionOptions): Promise<ErrorActionResult>;
}

/**
 * The operations client: instances of both kinds, their actions, and error queues.
 * @example
 * ```ts
 * const ops = new OperationsClient({ store: sagaStore, workflows: endpoint.workflows });
 * const page = await ops.instances.list({ status: 'parked', labels: { customer: 'c-42' } });
 * const order = await ops.instances.get<OrderState>(OrderFulfilment, 'o-1');
 * await ops.workflows.terminate('user-42', { reason: 'duplicate sign-up' });
 * ```
 */
export interface OperationsApi {
  readonly instances: InstancesApi;
  readonly workflows: WorkflowActionsApi;
  readonly sagas: SagaActionsApi;
  readonly errors: ErrorQueuesApi;
}
