import { type ActivityTimeouts, type FailureInfo, type ResolvedRetryPolicy } from './messages.js';

/** What an awaited workflow operation is. */
export type OperationKind = 'activity' | 'sleep' | 'event' | 'child' | 'step' | 'entity';

/**
 * One entry of an instance's append-only history. Every event also records in `build` the code
 * version (`workflowOptions.buildId`) that wrote it; events written before builds were recorded have none.
 */
export type HistoryEvent = HistoryEventBody & { readonly build?: string };

/** The kinds of history event, without the common fields. */
export type HistoryEventBody =
  | { readonly e: 'started'; readonly at: Date; readonly generation: number }
  | {
      readonly e: 'scheduled';
      readonly seq: number;
      readonly op: OperationKind;
      readonly name: string;
      readonly at: Date;
      /** The durable timer behind a `sleep` or a `waitForEvent` timeout. */
      readonly timerId?: string;
      /** The instance id of a child workflow. */
      readonly childId?: string;
    }
  | {
      readonly e: 'completed';
      readonly seq: number;
      readonly value?: unknown;
      readonly at: Date;
      /** The signal a `waitForEvent` consumed. */
      readonly signal?: string;
      readonly timedOut?: boolean;
    }
  | { readonly e: 'failed'; readonly seq: number; readonly failure: FailureInfo; readonly at: Date }
  | {
      /**
       * An attempt of a step (or of an activity with a durable deadline) failed and will be retried:
       * at `retryAt` through the timer `timerId`, or inline at once when there is no timer.
       */
      readonly e: 'attempt-failed';
      readonly seq: number;
      readonly attempt: number;
      readonly failure: FailureInfo;
      readonly timerId?: string;
      readonly retryAt?: Date;
      readonly at: Date;
    }
  | {
      /** The retry timer `timerId` of a step fired: its next attempt runs on the next replay. */
      readonly e: 'retry-due';
      readonly seq: number;
      readonly timerId: string;
      readonly at: Date;
    }
  | {
      readonly e: 'recorded';
      readonly seq: number;
      readonly op: 'now' | 'uuid' | 'random';
      readonly value: unknown;
    }
  | {
      readonly e: 'signal';
      readonly id: string;
      readonly name: string;
      readonly payload: unknown;
      readonly at: Date;
    }
  | { readonly e: 'cancel-requested'; readonly reason: string; readonly at: Date }
  | {
      /**
       * A patch the code reached (`ctx.patched(id)` returning true, or `ctx.deprecatePatch(id)`).
       * It takes no operation position: `seq` is the position the code was at, for reading only.
       */
      readonly e: 'marker';
      readonly patch: string;
      readonly seq: number;
      readonly deprecated?: boolean;
      readonly at: Date;
    }
  | {
      /** `client.reset` rewound the history to just after event `afterEvent`; `epoch` counts resets. */
      readonly e: 'reset';
      readonly afterEvent: number;
      readonly reason: string;
      readonly epoch: number;
      /** How many events were dropped. */
      readonly dropped: number;
      readonly at: Date;
    };

/** Where an instance stands. */
export type WorkflowStatusName = 'running' | 'completed' | 'failed' | 'terminated' | 'parked';

/** Why an instance is parked: what the replay found, and since when. */
export interface ParkedInfo {
  /** `non-determinism`: the code asks for other operations than the history holds; `non-ctx-await`: `run` waits on something that is not a `ctx` operation. */
  readonly kind: 'non-determinism' | 'non-ctx-await';
  readonly message: string;
  /** The history position (operation `seq`) where replay diverged. */
  readonly position?: number;
  /** What the history holds at that position. */
  readonly recorded?: string;
  /** What the code asked for there. */
  readonly requested?: string;
  /** The build whose replay parked it (see `workflowOptions.buildId`). */
  readonly build: string;
  readonly since: Date;
  /** Replays tried since it parked (messages, rechecks, resumes). */
  readonly checks: number;
}

/** A workflow instance's state, kept in the saga store by the built-in workflow saga. */
export interface WorkflowState {
  type: string;
  instanceId: string;
  /** Increments on `continueAsNew`; messages for an older generation are ignored. */
  generation: number;
  input: unknown;
  status: WorkflowStatusName;
  history: HistoryEvent[];
  result?: unknown;
  failure?: FailureInfo;
  /** Why the instance is parked or terminated. */
  reason?: string;
  /** Set while parked: what the replay found. */
  parked?: ParkedInfo;
  /** The durable timer that retries the replay of a parked instance. */
  recheckTimerId?: string;
  /** Increments on `client.reset`; results of operations scheduled before a reset are ignored. @defaultValue 0 */
  epoch?: number;
  /** Bytes of the history (the sum of its events as JSON), kept up to date after each message. */
  historyBytes?: number;
  /** How many events `historyBytes` counts; dropped when the history is replaced. */
  historyCounted?: number;
  /** The generation and reset (`generation.epoch`) whose large history was already logged. */
  largeHistoryWarned?: string;
  parent?: { instanceId: string; seq: number; generation: number; epoch?: number };
  /**
   * Set while the handling of message `message` has checkpointed steps and not finished: a
   * redelivery (or any next message) goes on from the checkpoint, and the outgoing ids of that
   * message continue after the `emitted` already committed, so none is reused for another message.
   */
  interrupted?: { message: string; emitted: number };
  /** Activities with a durable deadline, by `seq`: the current attempt and its last heartbeat. */
  attempts?: Record<string, ActivityAttempt>;
  createdAt: Date;
  finishedAt?: Date;
}

/** The current attempt of an activity with a durable deadline (see `ActivityOptions`). */
export interface ActivityAttempt {
  /** What the engine needs to send the next attempt. */
  readonly activity: string;
  readonly input: unknown;
  readonly retry: ResolvedRetryPolicy;
  readonly timeouts: ActivityTimeouts;
  attempt: number;
  /** When the current attempt was sent. */
  sentAt: Date;
  /** Set while the current attempt waits for its backoff to end: it is sent then. */
  backoffUntil?: Date;
  /** The durable timer that checks the deadlines of the current attempt. */
  deadlineTimerId?: string;
  heartbeatAt?: Date;
  /** The last heartbeat's details (kept across attempts: the next attempt gets them). */
  details?: unknown;
}

/** Scheduled operation with its outcome, if any, and the history index of that outcome. */
export interface OperationRecord {
  readonly seq: number;
  readonly op: OperationKind;
  readonly name: string;
  /** The durable timer behind a sleep, a wait's timeout, or a step's next retry. */
  timerId?: string;
  readonly childId?: string;
  readonly since: Date;
  /** Failed attempts so far (steps, activities with a durable deadline). */
  attempts?: number;
  /** A step whose last attempt failed and whose retry is due (its timer fired, or no wait). */
  retryDue?: boolean;
  outcome?: {
    readonly ok: boolean;
    readonly value?: unknown;
    readonly failure?: FailureInfo;
    readonly index: number;
  };
}

/**
 * An index over a history: built once per handling (O(history)) on a replay, or carried over with a
 * cached run (see `run-cache.ts`) and only appended to, so a handling that resumes a cached run
 * costs what its new events cost.
 */
export class HistoryIndex {
  readonly operations = new Map<number, OperationRecord>();
  /** The operations without an outcome, by `seq` (kept as events arrive, not by a scan). */
  private readonly open = new Map<number, OperationRecord>();
  /** Signal events in arrival order (buffered or consumed). */
  private readonly signals: { id: string; name: string; payload: unknown }[] = [];
  readonly recorded = new Map<number, { op: string; value: unknown }>();
  readonly consumedSignals = new Set<string>();
  /** Signal ids received (buffered or consumed), for `signalId` dedupe. */
  readonly signalIds = new Set<string>();
  /** Patches reached, by id (from `marker` events). */
  readonly patches = new Map<string, { seq: number; deprecated: boolean }>();
  /** The index of the last event of each position (operation or recorded value). */
  readonly positions = new Map<number, number>();
  /** The highest operation or recorded position in the history, -1 when none. */
  maxSeq = -1;
  cancelRequested = false;

  /**
   * @param history the events, appended to in place
   * @param options.build stamped on every appended event that has none
   */
  constructor(
    private events: HistoryEvent[],
    private readonly options: { build?: string } = {},
  ) {
    events.forEach((event, index) => this.apply(event, index));
  }

  /** The events, appended to in place. */
  get history(): HistoryEvent[] {
    return this.events;
  }

  /**
   * Points the index at `events`, a copy of the history it indexes (the same events, as read back
   * from the store at the version a cached run left), so appends go to the array the commit writes.
   * Throws when the length differs: the copy is not of this history.
   */
  rebase(events: HistoryEvent[]): void {
    if (events.length !== this.events.length)
      throw new Error(`rebase: the history has ${events.length} events, the index ${this.events.length}`);
    this.events = events;
  }

  /** Appends an event to the history and the index. */
  append(event: HistoryEvent): void {
    const stamped =
      this.options.build !== undefined && event.build === undefined
        ? { ...event, build: this.options.build }
        : event;
    this.events.push(stamped);
    this.apply(stamped, this.events.length - 1);
  }

  /** Operations scheduled and not yet completed or failed, in order. */
  pending(): OperationRecord[] {
    return [...this.open.values()].sort((a, b) => a.seq - b.seq);
  }

  /** The earliest buffered signal named `name` that no wait has consumed. */
  unconsumedSignal(name: string): { id: string; payload: unknown } | undefined {
    return this.signals.find((s) => s.name === name && !this.consumedSignals.has(s.id));
  }

  private apply(event: HistoryEvent, index: number): void {
    if ('seq' in event && event.e !== 'marker') this.positions.set(event.seq, index);
    switch (event.e) {
      case 'scheduled': {
        this.maxSeq = Math.max(this.maxSeq, event.seq);
        const record: OperationRecord = {
          seq: event.seq,
          op: event.op,
          name: event.name,
          timerId: event.timerId,
          childId: event.childId,
          since: event.at,
        };
        this.operations.set(event.seq, record);
        this.open.set(event.seq, record);
        break;
      }
      case 'completed':
      case 'failed': {
        const operation = this.operations.get(event.seq);
        if (operation && !operation.outcome) {
          operation.outcome =
            event.e === 'completed'
              ? { ok: true, value: event.value, index }
              : { ok: false, failure: event.failure, index };
          this.open.delete(event.seq);
        }
        if (event.e === 'completed' && event.signal) {
          this.consumedSignals.add(event.signal);
          this.signalIds.add(event.signal);
        }
        break;
      }
      case 'attempt-failed': {
        const operation = this.operations.get(event.seq);
        if (operation && !operation.outcome) {
          operation.attempts = event.attempt;
          operation.timerId = event.timerId;
          operation.retryDue = event.timerId === undefined;
        }
        break;
      }
      case 'retry-due': {
        const operation = this.operations.get(event.seq);
        if (operation && !operation.outcome && operation.timerId === event.timerId) operation.retryDue = true;
        break;
      }
      case 'recorded':
        this.maxSeq = Math.max(this.maxSeq, event.seq);
        this.recorded.set(event.seq, { op: event.op, value: event.value });
        break;
      case 'signal':
        this.signalIds.add(event.id);
        this.signals.push(event);
        break;
      case 'marker':
        if (!this.patches.has(event.patch))
          this.patches.set(event.patch, { seq: event.seq, deprecated: event.deprecated === true });
        break;
      case 'cancel-requested':
        this.cancelRequested = true;
        break;
      default:
        break;
    }
  }
}

/** The size of one event as JSON, in bytes: what the limits count (BSON on the store is close). */
export function eventBytes(event: HistoryEvent): number {
  return Buffer.byteLength(JSON.stringify(event), 'utf8');
}

/** The size of a history: the sum of its events' sizes. */
export function historyBytes(history: readonly HistoryEvent[]): number {
  return countBytes(history, undefined).bytes;
}

/**
 * The size of a history, counting only the events after those already counted (`counted`, kept in
 * the state; dropped where the history is replaced), so the cost per message stays small.
 */
export function countBytes(
  history: readonly HistoryEvent[],
  counted: { readonly events: number; readonly bytes: number } | undefined,
): { events: number; bytes: number } {
  const from = counted && counted.events <= history.length ? counted : { events: 0, bytes: 0 };
  let bytes = from.bytes;
  for (let i = from.events; i < history.length; i++) bytes += eventBytes(history[i]!);
  return { events: history.length, bytes };
}
