/**
 * An instance's timeline: everything the store knows about what happened to it, merged and
 * ordered by time. Messages handled (the dedupe window's ids), commits (the first and the latest
 * the record shows), messages waiting to be sent (the outbox), timers (pending timeouts and a
 * workflow's timer events), the workflow's history events, errors and operator actions.
 */
import { type InstanceDetail } from '../operations/api.js';

/** What kind of thing happened; also the CSS class of the row. */
export type TimelineKind =
  'created' | 'handled' | 'commit' | 'sent' | 'timer' | 'history' | 'error' | 'action';

/** One row of the timeline. */
export interface TimelineEntry {
  /** When; entries without a time sort last. */
  readonly at?: Date;
  readonly kind: TimelineKind;
  /** One line. */
  readonly title: string;
  /** Details shown folded (JSON-able). */
  readonly details?: unknown;
}

const HISTORY_KIND: Record<string, TimelineKind> = {
  timer: 'timer',
  'timer-fired': 'timer',
  failed: 'error',
  'activity-failed': 'error',
};

/** The timeline of `detail`, oldest first. */
export function timelineOf(detail: InstanceDetail): TimelineEntry[] {
  const entries: TimelineEntry[] = [
    { at: detail.createdAt, kind: 'created', title: `Instance created (${detail.kind} ${detail.type})` },
  ];
  for (const handled of detail.dedupe.recent) {
    entries.push({ at: handled.at, kind: 'handled', title: `Message handled: ${handled.id}` });
  }
  for (const entry of detail.outbox) {
    const what = entry.operation === 'cancel' ? 'timeout cancel' : (entry.messageType ?? entry.operation);
    entries.push({
      at: entry.createdAt,
      kind: entry.lastError ? 'error' : 'sent',
      title: `Outbox ${entry.operation}: ${what}${entry.destination ? ` → ${entry.destination}` : ''} (pending, ${entry.attempts} attempt(s))`,
      details: entry,
    });
  }
  for (const timeout of detail.timeouts) {
    entries.push({
      at: timeout.dueAt,
      kind: 'timer',
      title: `Timeout ${timeout.type} due (pending, id ${timeout.id})`,
      details: timeout,
    });
  }
  for (const event of detail.workflow?.history ?? []) {
    entries.push({
      at: event.at,
      kind: HISTORY_KIND[event.event] ?? 'history',
      title: `History #${event.index}: ${event.event}${event.name ? ` ${event.name}` : ''}`,
      details: event.details,
    });
  }
  if (detail.version > 1 || detail.updatedAt.getTime() !== detail.createdAt.getTime()) {
    entries.push({
      at: detail.updatedAt,
      kind: 'commit',
      title: `Latest commit: version ${detail.version}${detail.status === 'completed' ? ' (completed)' : ''}`,
    });
  }
  if (detail.workflow?.finishedAt) {
    entries.push({
      at: detail.workflow.finishedAt,
      kind: detail.status === 'completed' ? 'commit' : 'error',
      title: `Workflow ${detail.status}${detail.workflow.reason ? `: ${detail.workflow.reason}` : ''}`,
      details: detail.workflow.failure ?? detail.workflow.result,
    });
  }
  for (const error of detail.recentErrors) {
    entries.push({
      at: error.at,
      kind: 'error',
      title: `Error (${error.source}): ${error.message}`,
      details: error,
    });
  }
  for (const action of detail.actions) {
    entries.push({
      at: action.at,
      kind: 'action',
      title: `Action ${action.action} ${action.outcome}${action.by ? ` by ${action.by}` : ''}${action.reason ? `: ${action.reason}` : ''}`,
      details: action,
    });
  }
  return entries
    .map((entry, order) => ({ entry, order }))
    .sort((a, b) => {
      const x = a.entry.at?.getTime() ?? Number.POSITIVE_INFINITY;
      const y = b.entry.at?.getTime() ?? Number.POSITIVE_INFINITY;
      return x === y ? a.order - b.order : x - y;
    })
    .map(({ entry }) => entry);
}
