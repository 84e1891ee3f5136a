/**
 * How stored records become what the operations API shows: summaries for lists, details for
 * `show`. Pure functions of the record (and the dead letters and actions read beside it).
 */
import { Headers } from '../messages/envelope.js';
import { type OutboxDeadLetter, type OutboxEntry, type SagaRecord } from '../persistence/saga-store.js';
import { WORKFLOW_SAGA } from '../workflows/engine.js';
import { HistoryIndex, type HistoryEvent, type WorkflowState } from '../workflows/history.js';
import {
  type ActionRecord,
  type HistoryEventView,
  type InstanceDetail,
  type InstanceError,
  type InstanceStatus,
  type InstanceSummary,
  type OutboxEntryView,
  type WorkflowDetail,
} from './api.js';

/** Labels the workflow engine keeps for itself; lists show them as type and status, not as labels. */
export const WORKFLOW_LABELS = ['workflowType', 'status'] as const;

/** The record's kind, type, id and status as the API names them. */
export function identify(record: SagaRecord): Pick<InstanceSummary, 'kind' | 'type' | 'id' | 'status'> {
  if (record.sagaType === WORKFLOW_SAGA) {
    const state = record.state as WorkflowState | null;
    return {
      kind: 'workflow',
      type: state?.type ?? record.labels?.workflowType ?? 'unknown',
      id: record.correlationKey,
      status: (state?.status ?? record.labels?.status ?? 'completed') as InstanceStatus,
    };
  }
  return { kind: 'saga', type: record.sagaType, id: record.id, status: record.status };
}

/** The labels set by `ctx.setLabels` (a workflow's own bookkeeping labels left out). */
export function userLabels(record: SagaRecord): Record<string, string> {
  const labels = { ...(record.labels ?? {}) };
  if (record.sagaType === WORKFLOW_SAGA) for (const key of WORKFLOW_LABELS) delete labels[key];
  return labels;
}

/** A record as lists show it. */
export function summarize(record: SagaRecord): InstanceSummary {
  const oldest = minTime(record.outbox.map((e) => e.createdAt));
  const next = minTime(record.timeouts.map((t) => t.dueAt));
  return {
    ...identify(record),
    correlationKey: record.correlationKey,
    version: record.version,
    labels: userLabels(record),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    outboxPending: record.outbox.length,
    ...(oldest ? { outboxOldestAt: oldest } : {}),
    timeoutsPending: record.timeouts.length,
    ...(next ? { nextTimeoutAt: next } : {}),
  };
}

/** A record in full, with its outbox dead letters and the actions taken on it. */
export function detail(
  record: SagaRecord,
  deadLetters: readonly OutboxDeadLetter[],
  actions: readonly ActionRecord[],
): InstanceDetail {
  const inbox = [...record.inbox];
  const workflow = record.sagaType === WORKFLOW_SAGA && record.state ? workflowDetail(record) : undefined;
  const state = workflow ? (record.state as WorkflowState).input : record.state;
  return {
    ...summarize(record),
    state,
    stateVersion: record.stateVersion ?? 1,
    dedupe: {
      size: inbox.length,
      ...(inbox[0] ? { oldestAt: inbox[0].at } : {}),
      ...(inbox.at(-1) ? { newestAt: inbox.at(-1)?.at } : {}),
      recent: inbox
        .slice(-20)
        .reverse()
        .map((e) => ({ id: e.id, at: e.at })),
    },
    outbox: record.outbox.map(outboxView),
    timeouts: record.timeouts.map((t) => ({ id: t.id, type: t.type, dueAt: t.dueAt })),
    ...(record.retainUntil ? { retainUntil: record.retainUntil } : {}),
    ...(workflow ? { workflow } : {}),
    recentErrors: recentErrors(record, deadLetters),
    actions,
  };
}

function outboxView(entry: OutboxEntry): OutboxEntryView {
  return {
    id: entry.id,
    operation: entry.operation,
    ...(entry.message ? { messageType: entry.message.headers[Headers.type] } : {}),
    ...(entry.destination !== undefined ? { destination: entry.destination } : {}),
    createdAt: entry.createdAt,
    attempts: entry.attempts ?? 0,
    ...(entry.nextAttemptAt ? { nextAttemptAt: entry.nextAttemptAt } : {}),
    ...(entry.lastError !== undefined ? { lastError: entry.lastError } : {}),
  };
}

function workflowDetail(record: SagaRecord): WorkflowDetail {
  const state = record.state as WorkflowState;
  const index = new HistoryIndex([...state.history]);
  return {
    input: state.input,
    ...(state.result !== undefined ? { result: state.result } : {}),
    ...(state.failure
      ? {
          failure: {
            name: state.failure.name,
            message: state.failure.message,
            ...(state.failure.code !== undefined ? { code: state.failure.code } : {}),
          },
        }
      : {}),
    ...(state.reason !== undefined ? { reason: state.reason } : {}),
    generation: state.generation,
    resets: state.epoch ?? 0,
    ...(state.finishedAt ? { finishedAt: state.finishedAt } : {}),
    pending: index.pending().map((o) => ({ seq: o.seq, op: o.op, name: o.name, since: o.since })),
    history: state.history.map(historyView),
  };
}

/** One history event as `show` lists it. */
export function historyView(event: HistoryEvent, index: number): HistoryEventView {
  const { e, ...rest } = event as HistoryEvent & { at?: Date; name?: string };
  const at = 'at' in event && event.at instanceof Date ? event.at : undefined;
  const name =
    'name' in event && typeof event.name === 'string'
      ? event.name
      : 'patch' in event
        ? event.patch
        : undefined;
  const details: Record<string, unknown> = { ...rest };
  delete details.at;
  return { index, event: e, ...(at ? { at } : {}), ...(name !== undefined ? { name } : {}), details };
}

function recentErrors(record: SagaRecord, deadLetters: readonly OutboxDeadLetter[]): InstanceError[] {
  const errors: InstanceError[] = [];
  for (const entry of record.outbox) {
    if (entry.lastError !== undefined) {
      errors.push({
        source: 'outbox',
        at: entry.nextAttemptAt,
        message: `${entry.lastError} (attempt ${entry.attempts ?? 0})`,
        ref: entry.id,
      });
    }
  }
  for (const letter of deadLetters) {
    errors.push({
      source: 'outbox-dead-letter',
      at: letter.deadLetteredAt,
      message: letter.reason,
      ref: letter.entry.id,
    });
  }
  if (record.sagaType === WORKFLOW_SAGA && record.state) {
    const state = record.state as WorkflowState;
    state.history.forEach((event, i) => {
      if (event.e === 'failed') {
        errors.push({
          source: 'activity',
          at: event.at,
          message: `${event.failure.name}: ${event.failure.message}`,
          ref: `history#${i}`,
        });
      }
    });
    if (state.status === 'failed' && state.failure) {
      errors.push({
        source: 'workflow-failure',
        at: state.finishedAt,
        message: `${state.failure.name}: ${state.failure.message}`,
      });
    }
    if (state.status === 'parked') {
      errors.push({ source: 'parked', at: state.parked?.since, message: state.reason ?? 'parked' });
    }
  }
  return errors.sort((a, b) => (b.at?.getTime() ?? 0) - (a.at?.getTime() ?? 0)).slice(0, 20);
}

function minTime(dates: readonly Date[]): Date | undefined {
  let min: Date | undefined;
  for (const d of dates) if (!min || d.getTime() < min.getTime()) min = d;
  return min;
}
