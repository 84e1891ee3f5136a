/**
 * `longhaul instances list|counts|show|actions` and the saga actions (`cancel-timeout`,
 * `fire-timeout`, `retry-outbox`, `dead-letter-outbox`, `complete`), over the operations client.
 */
import {
  type ActionOptions,
  type ActionRecord,
  type InstanceDetail,
  type InstanceKind,
  type InstanceQuery,
  type InstanceRef,
  type InstanceStatus,
  type InstanceSummary,
} from '../operations/api.js';
import { type OperationsClient } from '../operations/client.js';
import { InvalidQueryError } from '../operations/query.js';
import {
  actor,
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  type ConnectionValues,
  openOperations,
  CONNECTION,
} from './connection.js';
import { dateOption, intOption, oneLine, parseCommand, printJson, table, time } from './format.js';
import { type CliIo, UsageError } from './io.js';

export const INSTANCES_HELP = `Usage: longhaul instances <command> [options]

Sagas and workflows in the store: find, count, inspect, and steer sagas.

Commands:
  list                              instances matching filters, a page at a time
  counts                            how many match, by kind, type and status
  show <type> <id>                  one instance in full (a saga's id or correlation value)
  actions <type> <id>               the actions taken on an instance
  cancel-timeout <type> <id> <timeoutId>    drop a saga's pending timeout
  fire-timeout <type> <id> <timeoutId>      make a saga's pending timeout due now
  retry-outbox <type> <id> <entryId>        make a saga's pending outbox entry due now
  dead-letter-outbox <type> <id> <entryId>  move a saga's outbox entry to the dead letters
  complete <type> <id>              complete a saga (state dropped, timeouts cancelled)

Run 'longhaul instances <command> --help' for a command's options.`;

const FILTER_HELP = `Filters (all given must hold):
  --kind <saga|workflow>             only sagas or only workflows
  --type <type>                      a saga or workflow type; repeatable
  --status <status>                  active, running, parked, completed, failed, terminated; repeatable
  --label <key=value>                a label set with ctx.setLabels; repeatable
  --created-from <time>              created at or after (ISO 8601)
  --created-to <time>                created before
  --updated-from <time>              last changed at or after
  --updated-to <time>                last changed before
  --outbox-pending-longer-than <d>   an outbox entry waiting longer than d (e.g. 10m, 2h)
  --id <id>                          one instance: a workflow id, a saga's id or correlation value`;

const COMMON_HELP = `  --json                 print JSON
  -h, --help             show this help

${CONNECTION_HELP}`;

const ACTION_HELP = `  --reason <text>        why (recorded with the action)
  --by <name>            who (recorded; default: $LONGHAUL_USER, else $USER)
${COMMON_HELP}`;

const HELP: Record<string, string> = {
  list: `Usage: longhaul instances list [filters] [--limit <n>] [--cursor <c>] [--json] [connection options]

Lists instances ordered by kind, type and id, one page at a time; the last line gives the
--cursor of the next page.

${FILTER_HELP}

Options:
  --limit <n>            instances per page, 1-1000 (default: 50)
  --cursor <c>           continue after the page that printed it
${COMMON_HELP}`,
  counts: `Usage: longhaul instances counts [filters] [--json] [connection options]

Counts the instances matching the filters by kind, type and status.

${FILTER_HELP}

Options:
${COMMON_HELP}`,
  show: `Usage: longhaul instances show <type> <id> [--kind <saga|workflow>] [--json] [connection options]

Shows one instance: status, version, labels, state (or workflow input and result), dedupe
window, outbox with attempts, pending timeouts, workflow history with times, recent errors and
the actions taken on it. <id> is a workflow's id, or a saga's id or correlation value.

Options:
  --kind <saga|workflow> which kind <type> is (default: a saga, else a workflow)
${COMMON_HELP}`,
  actions: `Usage: longhaul instances actions <type> <id> [--kind <saga|workflow>] [--limit <n>] [--json] [connection options]

Lists the actions taken on an instance, newest first (also after a workflow was purged).

Options:
  --kind <saga|workflow> which kind <type> is (default: a saga, else a workflow)
  --limit <n>            at most n actions (default: 50)
${COMMON_HELP}`,
  'cancel-timeout': `Usage: longhaul instances cancel-timeout <sagaType> <id> <timeoutId> [--reason <text>] [connection options]

Drops a pending timeout from the saga (a new version) and from the timeout store.

Options:
${ACTION_HELP}`,
  'fire-timeout': `Usage: longhaul instances fire-timeout <sagaType> <id> <timeoutId> [--reason <text>] [connection options]

Makes a pending timeout due now: the endpoint's scheduler delivers it on its next poll.

Options:
${ACTION_HELP}`,
  'retry-outbox': `Usage: longhaul instances retry-outbox <sagaType> <id> <entryId> [--reason <text>] [connection options]

Makes a pending outbox entry due now: the endpoint's outbox sweeper sends it on its next pass.

Options:
${ACTION_HELP}`,
  'dead-letter-outbox': `Usage: longhaul instances dead-letter-outbox <sagaType> <id> <entryId> [--reason <text>] [connection options]

Moves a pending outbox entry to the outbox's dead letters (endpoint.outboxDeadLetters replays it).

Options:
${ACTION_HELP}`,
  complete: `Usage: longhaul instances complete <sagaType> <id> [--reason <text>] [connection options]

Completes a saga as ctx.complete() would: its state is dropped, its timeouts cancelled, and a
tombstone keeps late messages out.

Options:
${ACTION_HELP}`,
};

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  kind: { type: 'string' },
  type: { type: 'string', multiple: true },
  status: { type: 'string', multiple: true },
  label: { type: 'string', multiple: true },
  'created-from': { type: 'string' },
  'created-to': { type: 'string' },
  'updated-from': { type: 'string' },
  'updated-to': { type: 'string' },
  'outbox-pending-longer-than': { type: 'string' },
  id: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  reason: { type: 'string' },
  by: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const FILTERS = [
  'kind',
  'type',
  'status',
  'label',
  'created-from',
  'created-to',
  'updated-from',
  'updated-to',
  'outbox-pending-longer-than',
  'id',
];
const BASE = ['json', 'help', ...CONNECTION];
const ACTION = ['reason', 'by', ...BASE];
const ALLOWED: Record<string, readonly string[]> = {
  list: [...FILTERS, 'limit', 'cursor', ...BASE],
  counts: [...FILTERS, ...BASE],
  show: ['kind', ...BASE],
  actions: ['kind', 'limit', ...BASE],
  'cancel-timeout': ACTION,
  'fire-timeout': ACTION,
  'retry-outbox': ACTION,
  'dead-letter-outbox': ACTION,
  complete: ACTION,
};
const ARITY: Record<string, number> = {
  list: 0,
  counts: 0,
  show: 2,
  actions: 2,
  'cancel-timeout': 3,
  'fire-timeout': 3,
  'retry-outbox': 3,
  'dead-letter-outbox': 3,
  complete: 2,
};

type Values = Record<string, string | boolean | string[] | undefined>;

/** Runs `instances <command> …`; resolves with the exit code (2 for a bad query). */
export async function instancesCommand(args: readonly string[], io: CliIo): Promise<number> {
  return asUsage(() => run(args, io));
}

/** Runs `work`, turning the client's `InvalidQueryError` into a usage error (exit code 2). */
export async function asUsage<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof InvalidQueryError) throw new UsageError(`Invalid ${error.message}`);
    throw error;
  }
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(INSTANCES_HELP);
    return command === undefined ? 2 : 0;
  }
  const help = HELP[command];
  const allowed = ALLOWED[command];
  const arity = ARITY[command];
  if (help === undefined || allowed === undefined || arity === undefined) {
    throw new UsageError(`Unknown command 'instances ${command}'.\n\n${INSTANCES_HELP}`);
  }
  const parsed = parseCommand(`instances ${command}`, rest, OPTIONS, allowed, arity, help, io);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const query = command === 'list' || command === 'counts' ? queryOf(values) : undefined;
  const limit = command === 'list' || command === 'actions' ? intOption(str(values.limit), 'limit', 50) : 50;
  const kind = kindOf(values.kind);
  const opened = await openOperations(values as ConnectionValues, io, { store: true });
  try {
    const { ops } = opened;
    const json = values.json === true;
    if (command === 'list') {
      const page = await ops.instances.list(query, {
        limit,
        ...(str(values.cursor) ? { cursor: str(values.cursor) } : {}),
      });
      if (json) printJson(io, page);
      else io.out(listText(page.items, page.next));
      return 0;
    }
    if (command === 'counts') {
      const counts = await ops.instances.counts(query);
      if (json) printJson(io, counts);
      else {
        const rows = counts.groups.map((g) => [g.kind, g.type, g.status, String(g.count)]);
        io.out(`${table(['KIND', 'TYPE', 'STATUS', 'COUNT'], rows)}\n\n${counts.total} instance(s).`);
      }
      return 0;
    }
    const [type, id] = positionals as [string, string, string?];
    const ref = await resolveRef(ops, type, id, kind);
    if (command === 'actions') {
      // Also for an instance no longer stored (a purged workflow): its actions stay.
      const actions = await ops.instances.actions(ref ?? { kind: kind ?? 'saga', type, id }, { limit });
      if (json) printJson(io, actions);
      else io.out(actionsText(actions));
      return 0;
    }
    if (command === 'show') {
      if (!ref) {
        io.err(`No instance ${type} '${id}'.`);
        return 1;
      }
      const shown = await ops.instances.show(ref);
      if (!shown) {
        io.err(`No instance ${type} '${id}'.`);
        return 1;
      }
      if (json) printJson(io, shown);
      else io.out(detailText(shown));
      return 0;
    }
    const target: InstanceRef = ref ?? { kind: 'saga', type, id };
    const options: ActionOptions = {
      ...(str(values.reason) !== undefined ? { reason: str(values.reason) } : {}),
      ...(actor(str(values.by), io) !== undefined ? { by: actor(str(values.by), io) } : {}),
    };
    const inner = positionals[2] as string;
    if (command === 'cancel-timeout') await ops.sagas.cancelTimeout(target, inner, options);
    else if (command === 'fire-timeout') await ops.sagas.fireTimeout(target, inner, options);
    else if (command === 'retry-outbox') await ops.sagas.retryOutbox(target, inner, options);
    else if (command === 'dead-letter-outbox') await ops.sagas.deadLetterOutbox(target, inner, options);
    else await ops.sagas.complete(target, options);
    const done = { action: command, type, id, ...(inner !== undefined ? { target: inner } : {}), ok: true };
    if (json) printJson(io, done);
    else io.out(`${command}: done on ${type} '${id}'${inner !== undefined ? ` (${inner})` : ''}.`);
    return 0;
  } finally {
    await opened.close();
  }
}

function str(value: string | boolean | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function kindOf(value: string | boolean | string[] | undefined): InstanceKind | undefined {
  if (value === undefined) return undefined;
  if (value !== 'saga' && value !== 'workflow') {
    throw new UsageError(`--kind must be 'saga' or 'workflow', got '${String(value)}'`);
  }
  return value;
}

/** The query the filter flags describe. */
export function queryOf(values: Values): InstanceQuery {
  const labels: Record<string, string> = {};
  for (const pair of (values.label as string[] | undefined) ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--label takes key=value, got '${pair}'`);
    labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const kind = kindOf(values.kind);
  const types = values.type as string[] | undefined;
  const statuses = values.status as InstanceStatus[] | undefined;
  const query: Record<string, unknown> = {
    ...(kind ? { kind } : {}),
    ...(types ? { type: types } : {}),
    ...(statuses ? { status: statuses } : {}),
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
  };
  for (const [flag, field] of [
    ['created-from', 'createdFrom'],
    ['created-to', 'createdTo'],
    ['updated-from', 'updatedFrom'],
    ['updated-to', 'updatedTo'],
  ] as const) {
    const date = dateOption(str(values[flag]), flag);
    if (date) query[field] = date;
  }
  const id = str(values.id);
  if (id !== undefined) query.id = id;
  const pending = str(values['outbox-pending-longer-than']);
  if (pending !== undefined)
    query.outboxPendingLongerThan = /^\d+$/.test(pending) ? Number(pending) : pending;
  return query as InstanceQuery;
}

/** The instance `type`/`id` names: of `kind`, else a saga, else a workflow. */
async function resolveRef(
  ops: OperationsClient,
  type: string,
  id: string,
  kind: InstanceKind | undefined,
): Promise<InstanceRef | undefined> {
  for (const k of kind ? [kind] : (['saga', 'workflow'] as const)) {
    const ref: InstanceRef = { kind: k, type, id };
    if (await ops.instances.find(ref)) return ref;
  }
  return undefined;
}

function labelsText(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

function listText(items: readonly InstanceSummary[], next: string | undefined): string {
  if (items.length === 0) return 'No instances match.';
  const rows = items.map((i) => [
    i.kind,
    i.type,
    i.id,
    i.kind === 'saga' ? i.correlationKey : '',
    i.status,
    String(i.version),
    time(i.updatedAt),
    i.outboxPending > 0 ? `${i.outboxPending} since ${time(i.outboxOldestAt)}` : '',
    oneLine(labelsText(i.labels), 60),
  ]);
  const head = ['KIND', 'TYPE', 'ID', 'KEY', 'STATUS', 'VERSION', 'UPDATED', 'OUTBOX', 'LABELS'];
  const footer = next
    ? `${items.length} instance(s); next page: --cursor ${next}`
    : `${items.length} instance(s).`;
  return `${table(head, rows)}\n\n${footer}`;
}

function actionsText(actions: readonly ActionRecord[]): string {
  if (actions.length === 0) return 'No actions recorded.';
  return table(
    ['AT', 'ACTION', 'OUTCOME', 'BY', 'DETAIL', 'REASON'],
    actions.map((a) => [
      time(a.at),
      a.action,
      a.outcome === 'failed' ? `failed: ${oneLine(a.error, 60)}` : 'done',
      a.by ?? '',
      a.detail ?? '',
      oneLine(a.reason, 60),
    ]),
  );
}

/** One instance in full, as text. */
export function detailText(d: InstanceDetail): string {
  const lines = [
    `${d.kind === 'saga' ? 'Saga' : 'Workflow'} ${d.type} '${d.id}'${d.kind === 'saga' ? ` (correlation ${d.correlationKey})` : ''}`,
    `Status:    ${d.status}`,
    `Version:   ${d.version}${d.kind === 'saga' ? ` (state shape ${d.stateVersion})` : ''}`,
    `Created:   ${time(d.createdAt)}`,
    `Updated:   ${time(d.updatedAt)}`,
    `Labels:    ${labelsText(d.labels) || '(none)'}`,
  ];
  if (d.retainUntil) lines.push(`Tombstone kept until ${time(d.retainUntil)}`);
  const w = d.workflow;
  if (w) {
    lines.push(`Input:     ${oneLine(JSON.stringify(w.input), 200)}`);
    if (w.result !== undefined) lines.push(`Result:    ${oneLine(JSON.stringify(w.result), 200)}`);
    if (w.failure) lines.push(`Failure:   ${w.failure.name}: ${w.failure.message}`);
    if (w.reason !== undefined) lines.push(`Reason:    ${w.reason}`);
    lines.push(
      `Run:       generation ${w.generation}, ${w.resets} reset(s)${w.finishedAt ? `, finished ${time(w.finishedAt)}` : ''}`,
    );
  } else {
    lines.push(`State:     ${oneLine(JSON.stringify(d.state), 400)}`);
  }
  lines.push(
    `Dedupe:    ${d.dedupe.size} message id(s)${d.dedupe.oldestAt ? ` from ${time(d.dedupe.oldestAt)} to ${time(d.dedupe.newestAt)}` : ''}`,
  );
  lines.push('', `Outbox (${d.outbox.length} pending):`);
  for (const e of d.outbox) {
    lines.push(
      `  ${e.id}  ${e.operation} ${e.messageType ?? ''}${e.destination ? ` -> ${e.destination}` : ''}  created ${time(e.createdAt)}  attempts ${e.attempts}${e.nextAttemptAt ? `  next ${time(e.nextAttemptAt)}` : ''}${e.lastError ? `  last error: ${oneLine(e.lastError, 80)}` : ''}`,
    );
  }
  lines.push('', `Timeouts (${d.timeouts.length} pending):`);
  for (const t of d.timeouts) lines.push(`  ${t.id}  ${t.type}  due ${time(t.dueAt)}`);
  if (w) {
    lines.push('', `Pending operations (${w.pending.length}):`);
    for (const p of w.pending) lines.push(`  #${p.seq} ${p.op} ${p.name} since ${time(p.since)}`);
    lines.push('', `History (${w.history.length} events):`);
    for (const e of w.history)
      lines.push(
        `  ${String(e.index).padStart(4)}  ${time(e.at).padEnd(20)}  ${e.event}${e.name ? ` ${e.name}` : ''}`,
      );
  }
  lines.push('', `Recent errors (${d.recentErrors.length}):`);
  for (const e of d.recentErrors)
    lines.push(`  ${time(e.at)}  ${e.source}${e.ref ? ` ${e.ref}` : ''}: ${oneLine(e.message, 120)}`);
  lines.push('', `Actions (${d.actions.length}):`);
  if (d.actions.length > 0) lines.push(actionsText(d.actions).replace(/^/gm, '  '));
  return lines.join('\n');
}
