/**
 * What a replay check reports, and how it reads: the result types of `replayHistory`, the
 * labels of operations and calls, and the summary the CLI and test failures print.
 */
import { type MessageClass, messageTypeOf } from '../messages/registry.js';
import { type ActivityRef, activityNameOf, type WorkflowClass, workflowNameOf } from './definitions.js';
import {
  type HistoryEvent,
  type HistoryIndex,
  type OperationKind,
  type WorkflowStatusName,
} from './history.js';
import { type FailureInfo } from './messages.js';

/** An operation the code asks for, as the replay saw it. */
export interface ReplayOperation {
  /** Its history position (operation sequence number). */
  readonly seq: number;
  readonly op: OperationKind;
  readonly name: string;
  /** The activity or child input, for new operations. */
  readonly input?: unknown;
  /** When a new timer would fire (a `sleep`, or a `waitForEvent` timeout). */
  readonly dueAt?: Date;
}

/** How the replayed `run` ended. */
export type ReplayEnding = 'completed' | 'failed' | 'waiting' | 'continued-as-new';

/** Where and how the code and the history part. */
export interface ReplayDivergence {
  /**
   * - `mismatch`: the code asks for another operation than the history holds at a position;
   * - `missing`: the code ended without asking for an operation the history holds;
   * - `non-ctx-await`: `run` waits on something that is not a `ctx` operation;
   * - `ending`: the code ends otherwise than the history (completes where it waited, fails where it completed…);
   * - `unknown-workflow`: none of the given workflow classes has the history's type.
   */
  readonly kind: 'mismatch' | 'missing' | 'non-ctx-await' | 'ending' | 'unknown-workflow';
  /** The operation position, when the divergence is at one. */
  readonly seq?: number;
  /** Index into the history's `events` of the event at that position (`events.length`: past the end). */
  readonly historyIndex: number;
  /** What the history holds there. */
  readonly recorded: string;
  /** What the code asked for or did. */
  readonly requested: string;
  /** The whole story in one sentence. */
  readonly message: string;
}

/** What {@link replayHistory} found. */
export interface HistoryReplayResult {
  /** True when the code replays the whole history. */
  readonly ok: boolean;
  readonly instanceId: string;
  readonly workflowType: string;
  /** The instance's status in the history. */
  readonly recordedStatus: WorkflowStatusName;
  /** The first divergence, when not ok. */
  readonly divergence?: ReplayDivergence;
  /** How the replayed `run` ended (`diverged` when replay stopped at a divergence). */
  readonly ending: ReplayEnding | 'diverged';
  /** History events replay got through (all of them when ok), and how many there are. */
  readonly events: { readonly replayed: number; readonly total: number };
  /** Operations of the history the code asked for again. */
  readonly operationsReplayed: number;
  /** Operations the history does not hold that the code now asks for (it would schedule them). */
  readonly newOperations: readonly ReplayOperation[];
  /** Operations the code waits on at the end of the replay. */
  readonly waitingOn: readonly ReplayOperation[];
  /** The code's result or failure, when it ended so. */
  readonly result?: unknown;
  readonly failure?: FailureInfo;
  /** Facts worth knowing that are not divergences (a different result, a finished history the code would extend). */
  readonly notes: readonly string[];
  /** A readable report of all the above, for logs, test failures and the CLI. */
  readonly summary: string;
}

const OP_LABEL: Record<string, (name: string) => string> = {
  activity: (name) => `activity '${name}'`,
  sleep: () => 'sleep',
  event: (name) => `waitForEvent '${name}'`,
  child: (name) => `child workflow '${name}'`,
};

/** How an operation reads in reports. */
export function label(op: string, name: string): string {
  return (OP_LABEL[op] ?? ((n: string) => `${op} '${n}'`))(name);
}

/** How a `ctx` call reads in reports. */
export function callLabel(method: string, args: readonly unknown[]): string {
  try {
    if (method === 'activity') return label('activity', activityNameOf(args[0] as ActivityRef));
    if (method === 'sleep' || method === 'sleepUntil') return 'sleep';
    if (method === 'waitForEvent') return label('event', messageTypeOf(args[0] as MessageClass<object>).name);
    if (method === 'child') return label('child', workflowNameOf(args[0] as WorkflowClass));
  } catch {
    // not a valid reference: fall through to the generic form
  }
  const shown = args.map((a) => (typeof a === 'string' ? JSON.stringify(a) : typeof a)).join(', ');
  return `${method}(${['now', 'uuid', 'random'].includes(method) ? '' : shown})`;
}

/** What the history holds at position `seq`, and the index of that event. */
export function recordedAt(index: HistoryIndex, events: readonly HistoryEvent[], seq: number) {
  const at = events.findIndex((e) => (e.e === 'scheduled' || e.e === 'recorded') && e.seq === seq);
  const operation = index.operations.get(seq);
  const recorded = index.recorded.get(seq);
  const what = operation ? label(operation.op, operation.name) : recorded ? `${recorded.op}()` : 'nothing';
  return { historyIndex: at === -1 ? events.length : at, what };
}

/** True when two values have the same JSON. */
export function sameJson(a: unknown, b: unknown): boolean {
  try {
    return JSON.stringify(JSON.parse(JSON.stringify(a ?? null))) === JSON.stringify(b ?? null);
  } catch {
    return false;
  }
}

/** Adds the readable summary to a result. */
export function finish(fields: Omit<HistoryReplayResult, 'summary'>): HistoryReplayResult {
  const head = `${fields.instanceId} (${fields.workflowType}, ${fields.recordedStatus}, ${fields.events.total} events)`;
  const ops = (list: readonly ReplayOperation[]) =>
    list.map((o) => `${label(o.op, o.name)} at position ${o.seq}`).join(', ');
  const lines: string[] = [];
  const d = fields.divergence;
  if (d) {
    const where = d.seq === undefined ? '' : `, position ${d.seq}`;
    lines.push(`DIVERGED ${head}: ${d.kind} at history event ${d.historyIndex}${where}`);
    lines.push(`  history holds: ${d.recorded}`, `  code asks for: ${d.requested}`, `  ${d.message}`);
  } else {
    const end =
      fields.ending === 'waiting'
        ? `waits on ${ops(fields.waitingOn) || 'nothing'}`
        : fields.ending.replace(/-/g, ' ');
    lines.push(`ok ${head}: replays all ${fields.events.total} events; the code ${end}`);
  }
  if (fields.newOperations.length > 0)
    lines.push(`  new operations the code would now schedule: ${ops(fields.newOperations)}`);
  for (const note of fields.notes) lines.push(`  note: ${note}`);
  return { ...fields, summary: lines.join('\n') };
}
