import { type FailureInfo } from './messages.js';

/** What an awaited workflow operation is. */
export type OperationKind = 'activity' | 'sleep' | 'event' | 'child';

/** One entry of an instance's append-only history. */
export type HistoryEvent =
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
  | { readonly e: 'cancel-requested'; readonly reason: string; readonly at: Date };

/** Where an instance stands. */
export type WorkflowStatusName = 'running' | 'completed' | 'failed' | 'terminated' | 'parked';

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
  parent?: { instanceId: string; seq: number; generation: number };
  createdAt: Date;
  finishedAt?: Date;
}

/** Scheduled operation with its outcome, if any, and the history index of that outcome. */
export interface OperationRecord {
  readonly seq: number;
  readonly op: OperationKind;
  readonly name: string;
  readonly timerId?: string;
  readonly childId?: string;
  readonly since: Date;
  outcome?: {
    readonly ok: boolean;
    readonly value?: unknown;
    readonly failure?: FailureInfo;
    readonly index: number;
  };
}

/** An index over a history, rebuilt at the start of every replay (O(history)). */
export class HistoryIndex {
  readonly operations = new Map<number, OperationRecord>();
  readonly recorded = new Map<number, { op: string; value: unknown }>();
  readonly consumedSignals = new Set<string>();
  cancelRequested = false;

  constructor(readonly history: HistoryEvent[]) {
    history.forEach((event, index) => this.apply(event, index));
  }

  /** Appends an event to the history and the index. */
  append(event: HistoryEvent): void {
    this.history.push(event);
    this.apply(event, this.history.length - 1);
  }

  /** Operations scheduled and not yet completed or failed, in order. */
  pending(): OperationRecord[] {
    return [...this.operations.values()].filter((o) => !o.outcome).sort((a, b) => a.seq - b.seq);
  }

  /** The earliest buffered signal named `name` that no wait has consumed. */
  unconsumedSignal(name: string): { id: string; payload: unknown } | undefined {
    for (const event of this.history) {
      if (event.e === 'signal' && event.name === name && !this.consumedSignals.has(event.id)) return event;
    }
    return undefined;
  }

  private apply(event: HistoryEvent, index: number): void {
    switch (event.e) {
      case 'scheduled':
        this.operations.set(event.seq, {
          seq: event.seq,
          op: event.op,
          name: event.name,
          timerId: event.timerId,
          childId: event.childId,
          since: event.at,
        });
        break;
      case 'completed':
      case 'failed': {
        const operation = this.operations.get(event.seq);
        if (operation && !operation.outcome) {
          operation.outcome =
            event.e === 'completed'
              ? { ok: true, value: event.value, index }
              : { ok: false, failure: event.failure, index };
        }
        if (event.e === 'completed' && event.signal) this.consumedSignals.add(event.signal);
        break;
      }
      case 'recorded':
        this.recorded.set(event.seq, { op: event.op, value: event.value });
        break;
      case 'cancel-requested':
        this.cancelRequested = true;
        break;
      default:
        break;
    }
  }
}
