/**
 * Replay tests: run a recorded history against the current workflow code, as a worker would after
 * a deploy, and report the first place where they part. Nothing is scheduled for real: the replay
 * hooks only note what the code asks for, so no activity, timer or child ever runs.
 */
import { ContinueAsNew, type ReplayHooks, ReplayContext } from './context.js';
import { type WorkflowClass, workflowNameOf, type WorkflowRun } from './definitions.js';
import { toFailure } from './failure.js';
import { HistoryIndex, type HistoryEvent, type WorkflowStatusName } from './history.js';
import { decodeHistory, type WorkflowHistory } from './history-export.js';
import {
  callLabel,
  finish,
  type HistoryReplayResult,
  label,
  recordedAt,
  type ReplayDivergence,
  type ReplayEnding,
  type ReplayOperation,
  sameJson,
} from './replay-report.js';

export {
  type HistoryReplayResult,
  type ReplayDivergence,
  type ReplayEnding,
  type ReplayOperation,
} from './replay-report.js';

/** Options of {@link replayHistory}. */
export interface HistoryReplayOptions {
  /** Builds the workflow object (for workflows with constructor dependencies). @defaultValue `new Workflow()` */
  create?: (workflow: WorkflowClass) => WorkflowRun;
  /**
   * Real time to keep watching a suspended replay for `ctx` calls or an end that come late, which
   * betray an await on something that is not a `ctx` operation. @defaultValue 10
   */
  settleTimeMs?: number;
}

type RunOutcome = { kind: 'done'; value: unknown } | { kind: 'failed'; error: unknown } | undefined;

/**
 * Runs a recorded history (from `client.history(id)`, a file, or `longhaul workflows export`)
 * against the current code of its workflow, and reports the first divergence with its position,
 * what the history holds there and what the code asked for. A clean result says how far replay got,
 * how the code ends, and which new operations it would now schedule. Never runs activities, timers
 * or children; safe to run in CI against production histories.
 * @param workflows the workflow class, or several (the one whose `@Workflow` name is the history's type is used)
 * @param history a {@link WorkflowHistory} or its JSON text (validated: a bad one throws `HistoryFormatError`)
 * @example
 * ```ts
 * const result = await replayHistory(OrderWorkflow, JSON.parse(await readFile('order-42.json', 'utf8')));
 * expect(result.ok, result.summary).toBe(true);
 * ```
 */
export async function replayHistory(
  workflows: WorkflowClass | readonly WorkflowClass[],
  history: WorkflowHistory | string,
  options: HistoryReplayOptions = {},
): Promise<HistoryReplayResult> {
  const { header, input, events } = decodeHistory(history);
  const base = { instanceId: header.instanceId, workflowType: header.workflowType };
  const total = events.length;
  const ctor = (Array.isArray(workflows) ? workflows : [workflows as WorkflowClass]).find(
    (w) => workflowNameOf(w) === header.workflowType,
  );
  const report = (
    fields: Omit<HistoryReplayResult, 'summary' | 'instanceId' | 'workflowType' | 'recordedStatus'>,
  ) => finish({ ...base, recordedStatus: header.status, ...fields });
  if (!ctor) {
    const given = (Array.isArray(workflows) ? workflows : [workflows as WorkflowClass]).map(workflowNameOf);
    const divergence: ReplayDivergence = {
      kind: 'unknown-workflow',
      historyIndex: 0,
      recorded: `workflow type '${header.workflowType}'`,
      requested: `one of ${given.map((g) => `'${g}'`).join(', ') || 'no workflow'}`,
      message: `No workflow class is named '${header.workflowType}' (given: ${given.join(', ') || 'none'}); a renamed @Workflow strands its running instances`,
    };
    return report({
      ok: false,
      divergence,
      ending: 'diverged',
      events: { replayed: 0, total },
      operationsReplayed: 0,
      newOperations: [],
      waitingOn: [],
      notes: [],
    });
  }

  const index = new HistoryIndex([...events]);
  const knownSeqs = new Set([...index.operations.keys(), ...index.recorded.keys()]);
  const extra = new Map<number, { input?: unknown; dueAt?: Date }>();
  const lastAt = [...events].reverse().find((e): e is HistoryEvent & { at: Date } => 'at' in e);
  const hooks: ReplayHooks = {
    now: lastAt?.at ?? new Date(header.createdAt),
    epoch: header.epoch ?? 0,
    scheduleActivity: (seq, _name, activityInput) => void extra.set(seq, { input: activityInput }),
    startTimer: (seq, dueAt) => {
      extra.set(seq, { dueAt });
      return `replay-check-timer-${seq}`;
    },
    startChild: (seq, _childId, _type, childInput) => void extra.set(seq, { input: childInput }),
  };
  const context = new ReplayContext(header.instanceId, header.workflowType, header.generation, index, hooks);

  // Workflow code moves on in microtasks only: the first macrotask after the start marks the
  // suspension, and a ctx call or an end after it betrays an await on something else (a timer, I/O).
  let suspended = false;
  let reached = -1;
  const suspend = (): void => {
    if (suspended) return;
    suspended = true;
    reached = Math.max(-1, ...context.visited);
    context.close(); // as the engine does: a later ctx call throws into the code
  };
  const late: string[] = [];
  let divergedCall: { seq?: number; requested: string } | undefined;
  const ctx = new Proxy(context, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      return (...args: unknown[]) => {
        if (suspended) late.push(callLabel(prop, args));
        const before = target.visited.size;
        const clean = target.nondeterminism === undefined;
        try {
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        } finally {
          if (clean && target.nondeterminism) {
            divergedCall = { seq: [...target.visited][before], requested: callLabel(prop, args) };
          }
        }
      };
    },
  });

  let outcome: RunOutcome;
  let endedLate = false;
  const workflow = options.create ? options.create(ctor) : new ctor();
  setTimeout(suspend, 0);
  setImmediate(suspend);
  const running = (async () => workflow.run(ctx, input))();
  running.then(
    (value) => {
      endedLate = suspended;
      outcome = { kind: 'done', value };
    },
    (error: unknown) => {
      endedLate = suspended;
      outcome = { kind: 'failed', error };
    },
  );
  await new Promise((resolve) => setImmediate(resolve));
  suspend();
  if (!outcome) {
    const waitingOnAny = [...context.visited].some((seq) => {
      const operation = index.operations.get(seq);
      return operation !== undefined && !operation.outcome;
    });
    if (waitingOnAny && !context.nondeterminism)
      await new Promise((resolve) => setTimeout(resolve, options.settleTimeMs ?? 10));
  }
  const atSuspension = endedLate ? undefined : outcome;
  const nextSeq = reached + 1;

  const visitedOld = [...context.visited].filter((seq) => knownSeqs.has(seq));
  const newOperations: ReplayOperation[] = index.history
    .slice(total)
    .filter((e): e is Extract<HistoryEvent, { e: 'scheduled' }> => e.e === 'scheduled')
    .map((e) => ({ seq: e.seq, op: e.op, name: e.name, ...extra.get(e.seq) }));
  const waitingOn: ReplayOperation[] = [...context.visited]
    .map((seq) => index.operations.get(seq))
    .filter((o) => o !== undefined && !o.outcome)
    .map((o) => ({ seq: o!.seq, op: o!.op, name: o!.name }));
  const continued = atSuspension?.kind === 'failed' && atSuspension.error instanceof ContinueAsNew;
  const ending: ReplayEnding = continued
    ? 'continued-as-new'
    : atSuspension?.kind === 'done'
      ? 'completed'
      : atSuspension?.kind === 'failed'
        ? 'failed'
        : 'waiting';
  const common = { operationsReplayed: visitedOld.length, newOperations, waitingOn };
  const diverged = (divergence: ReplayDivergence) =>
    report({
      ok: false,
      divergence,
      ending: 'diverged',
      events: { replayed: divergence.historyIndex, total },
      ...common,
      notes: [],
    });

  // 1. The code asked for another operation than the history holds.
  if (context.nondeterminism) {
    const details = context.nondeterminism.details;
    const seq = divergedCall?.seq ?? details?.position;
    const at = seq === undefined ? { historyIndex: total, what: 'nothing' } : recordedAt(index, events, seq);
    return diverged({
      kind: 'mismatch',
      seq,
      historyIndex: at.historyIndex,
      recorded: at.what,
      requested: divergedCall?.requested ?? details?.requested ?? 'another operation',
      message: context.nondeterminism.message,
    });
  }
  // 2. `run` waits on something that is not a ctx operation.
  if (late.length > 0 || endedLate || (!atSuspension && waitingOn.length === 0)) {
    const at = knownSeqs.has(nextSeq)
      ? recordedAt(index, events, nextSeq)
      : { historyIndex: total, what: '' };
    const requested =
      late.length > 0
        ? `ctx.${late[0]} after the replay had suspended`
        : endedLate
          ? 'an end after the replay had suspended'
          : 'nothing: it waits on no ctx operation';
    return diverged({
      kind: 'non-ctx-await',
      seq: nextSeq,
      historyIndex: at.historyIndex,
      recorded: at.what || 'the end of the history',
      requested,
      message: `run awaited something that is not a ctx operation (a fetch, a setTimeout, a plain promise) after position ${nextSeq - 1}: the code asks for ${requested}; only await ctx operations in run`,
    });
  }
  // 3. The code ended without reaching operations the history holds.
  const skipped = [...knownSeqs].filter((seq) => !context.visited.has(seq)).sort((a, b) => a - b)[0];
  if (ending !== 'waiting' && skipped !== undefined) {
    const at = recordedAt(index, events, skipped);
    return diverged({
      kind: 'missing',
      seq: skipped,
      historyIndex: at.historyIndex,
      recorded: at.what,
      requested: `nothing: the code ${ending} first`,
      message: `History position ${skipped} holds ${at.what}, but the code ${ending} without asking for it`,
    });
  }
  // 4. The code ends otherwise than the history.
  const result = atSuspension?.kind === 'done' ? atSuspension.value : undefined;
  const failure = atSuspension?.kind === 'failed' && !continued ? toFailure(atSuspension.error) : undefined;
  const notes: string[] = [];
  const expected: Partial<Record<WorkflowStatusName, readonly ReplayEnding[]>> = {
    running: ['waiting'],
    completed: ['completed', 'waiting'],
    failed: ['failed', 'waiting'],
  };
  const allowed = expected[header.status];
  if (allowed && !allowed.includes(ending)) {
    const did =
      ending === 'failed' ? `failed: ${failure?.name}: ${failure?.message}` : ending.replace(/-/g, ' ');
    const held =
      header.status === 'running'
        ? `the instance running, waiting on ${
            index
              .pending()
              .map((o) => `${label(o.op, o.name)} (position ${o.seq})`)
              .join(', ') || 'nothing'
          }`
        : `the instance ${header.status}`;
    return diverged({
      kind: 'ending',
      seq: nextSeq,
      historyIndex: total,
      recorded: held,
      requested: `the code ${did}`,
      message: `The history ends with ${held}, but replaying it the code ${did}`,
    });
  }
  if (ending === 'waiting' && (header.status === 'completed' || header.status === 'failed'))
    notes.push(`the history ends ${header.status}, but the code now waits instead`);
  if (ending === 'completed' && header.status === 'completed' && !sameJson(result, header.result))
    notes.push('the code returns another result than the history records');
  return report({ ok: true, ending, events: { replayed: total, total }, ...common, result, failure, notes });
}
