/**
 * `longhaul workflows start|signal|cancel|terminate|resume|reset|purge|show|history`: steering
 * and reading workflow instances through the operations client (each action is recorded).
 */
import { type ActionOptions } from '../operations/api.js';
import {
  actor,
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  type ConnectionValues,
  openOperations,
  CONNECTION,
} from './connection.js';
import { intOption, jsonOption, parseCommand, printJson, table, time } from './format.js';
import { asUsage, detailText } from './instances.js';
import { type CliIo, UsageError } from './io.js';

const COMMON = `  --json                 print JSON
  -h, --help             show this help

${CONNECTION_HELP}`;
const ACTION = `  --by <name>            who (recorded; default: $LONGHAUL_USER, else $USER)
${COMMON}`;

/** The help of each command this file runs. */
export const ACTION_HELP: Record<string, string> = {
  start: `Usage: longhaul workflows start <type> [--id <id>] [--input <json>] [--reason <text>] --endpoint <name> [connection options]

Starts a workflow instance on the endpoint that hosts <type>; idempotent by --id (an existing id
is left as it is). Prints the instance id.

Options:
  --id <id>              the instance id (default: a new UUID)
  --input <json>         the input (default: null)
  --reason <text>        why (recorded)
${ACTION}`,
  signal: `Usage: longhaul workflows signal <id> <eventType> [--payload <json>] [--signal-id <s>] [--reason <text>] --endpoint <name> [connection options]

Raises event <eventType> (its message type name) on the instance: a waitForEvent for it resumes.

Options:
  --payload <json>       the event's body (default: {})
  --signal-id <s>        makes the call idempotent: a retry with the same id is recorded once
  --reason <text>        why (recorded)
${ACTION}`,
  cancel: `Usage: longhaul workflows cancel <id> --reason <text> --endpoint <name> [connection options]

Requests cancellation: pending operations fail with CancelledError and run may compensate.

Options:
  --reason <text>        why (required, recorded)
${ACTION}`,
  terminate: `Usage: longhaul workflows terminate <id> --reason <text> --endpoint <name> [connection options]

Ends the instance at once, without running its code again; its timers and children stop too.

Options:
  --reason <text>        why (required, recorded)
${ACTION}`,
  resume: `Usage: longhaul workflows resume <id> [--reason <text>] --endpoint <name> [connection options]

Asks a parked instance to try its replay now (after a deploy with code that replays its history).

Options:
  --reason <text>        why (recorded)
${ACTION}`,
  reset: `Usage: longhaul workflows reset <id> --after-event <n> --reason <text> --endpoint <name> [connection options]

Rewinds the instance to just after history event <n> (see 'workflows history'): the operations
after it run again; signals received are kept.

Options:
  --after-event <n>      the history index to keep up to (required)
  --reason <text>        why (required, recorded)
${ACTION}`,
  purge: `Usage: longhaul workflows purge <id> [--reason <text>] [connection options]

Deletes a finished (completed, failed or terminated) instance; its recorded actions stay.

Options:
  --reason <text>        why (recorded)
${ACTION}`,
  show: `Usage: longhaul workflows show <id> [--json] [connection options]

Shows a workflow instance (as 'longhaul instances show' does): status, input, result, pending
operations, history with times, recent errors and the actions taken on it.

Options:
${COMMON}`,
  history: `Usage: longhaul workflows history <id> [--json] [connection options]

Lists the instance's history (its current generation): index, time, event and what it names.
The index is what 'workflows reset --after-event' takes. For a replay test file, use
'workflows export'.

Options:
${COMMON}`,
};

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  id: { type: 'string' },
  input: { type: 'string' },
  payload: { type: 'string' },
  'signal-id': { type: 'string' },
  'after-event': { type: 'string' },
  reason: { type: 'string' },
  by: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const READ = ['json', 'help', ...CONNECTION];
const STEER = ['reason', 'by', ...READ];
const ALLOWED: Record<string, readonly string[]> = {
  start: ['id', 'input', ...STEER],
  signal: ['payload', 'signal-id', ...STEER],
  cancel: STEER,
  terminate: STEER,
  resume: STEER,
  reset: ['after-event', ...STEER],
  purge: ['reason', 'by', ...READ],
  show: READ,
  history: READ,
};
const ARITY: Record<string, number> = {
  start: 1,
  signal: 2,
  cancel: 1,
  terminate: 1,
  resume: 1,
  reset: 1,
  purge: 1,
  show: 1,
  history: 1,
};

/** Whether `command` is one of this file's. */
export function isWorkflowAction(command: string): boolean {
  return command in ACTION_HELP;
}

/** Runs `workflows <command> …` for the commands of {@link ACTION_HELP}. */
export function workflowAction(command: string, args: readonly string[], io: CliIo): Promise<number> {
  return asUsage(() => run(command, args, io));
}

async function run(command: string, args: readonly string[], io: CliIo): Promise<number> {
  const help = ACTION_HELP[command] as string;
  const parsed = parseCommand(
    `workflows ${command}`,
    args,
    OPTIONS,
    ALLOWED[command] ?? [],
    ARITY[command] ?? 0,
    help,
    io,
  );
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const str = (key: string): string | undefined =>
    typeof values[key] === 'string' ? (values[key] as string) : undefined;
  const steer = ALLOWED[command]?.includes('endpoint') === true;
  const input = jsonOption(str('input'), 'input');
  const payload = jsonOption(str('payload'), 'payload');
  const afterEvent = command === 'reset' ? intOption(str('after-event'), 'after-event', -1, 0) : undefined;
  if (afterEvent === -1) throw new UsageError(`Say where to reset to: --after-event <n>\n\n${help}`);
  if ((command === 'cancel' || command === 'terminate' || command === 'reset') && !str('reason')?.trim()) {
    throw new UsageError(`Say why: --reason <text>\n\n${help}`);
  }
  const by = actor(str('by'), io);
  const options: ActionOptions = {
    ...(str('reason') !== undefined ? { reason: str('reason') } : {}),
    ...(by !== undefined ? { by } : {}),
  };
  const opened = await openOperations(values as ConnectionValues, io, { store: true, workflows: steer });
  const json = values.json === true;
  const [first, second] = positionals as [string, string?];
  const report = (text: string, value: Record<string, unknown>): void => {
    if (json) printJson(io, value);
    else io.out(text);
  };
  try {
    const { ops } = opened;
    switch (command) {
      case 'start': {
        const id = await ops.workflows.start(first, input ?? null, {
          ...options,
          ...(str('id') !== undefined ? { id: str('id') } : {}),
        });
        report(id, { id, type: first });
        return 0;
      }
      case 'signal':
        await ops.workflows.signal(first, second as string, payload ?? {}, {
          ...options,
          ...(str('signal-id') !== undefined ? { signalId: str('signal-id') } : {}),
        });
        report(`Signalled ${second} to '${first}'.`, { id: first, event: second, ok: true });
        return 0;
      case 'cancel':
        await ops.workflows.cancel(first, options);
        report(`Cancellation of '${first}' requested.`, { id: first, action: 'cancel', ok: true });
        return 0;
      case 'terminate':
        await ops.workflows.terminate(first, options);
        report(`Termination of '${first}' requested.`, { id: first, action: 'terminate', ok: true });
        return 0;
      case 'resume':
        await ops.workflows.resume(first, options);
        report(`Resume of '${first}' requested.`, { id: first, action: 'resume', ok: true });
        return 0;
      case 'reset':
        await ops.workflows.reset(first, afterEvent as number, options);
        report(`Reset of '${first}' to after event ${afterEvent} requested.`, {
          id: first,
          action: 'reset',
          afterEvent,
          ok: true,
        });
        return 0;
      case 'purge': {
        const purged = await ops.workflows.purge(first, options);
        report(purged ? `Purged '${first}'.` : `No workflow instance '${first}'.`, { id: first, purged });
        return purged ? 0 : 1;
      }
      default: {
        const record = await ops.instances.findWorkflow(first);
        const shown = record
          ? await ops.instances.show({
              kind: 'workflow',
              type: (record.state as { type: string }).type,
              id: first,
            })
          : undefined;
        if (!shown?.workflow) {
          io.err(`No workflow instance '${first}'.`);
          return 1;
        }
        if (command === 'history') {
          if (json) printJson(io, shown.workflow.history);
          else
            io.out(
              table(
                ['INDEX', 'AT', 'EVENT', 'NAME'],
                shown.workflow.history.map((e) => [String(e.index), time(e.at), e.event, e.name ?? '']),
              ),
            );
          return 0;
        }
        if (json) printJson(io, shown);
        else io.out(detailText(shown));
        return 0;
      }
    }
  } finally {
    await opened.close();
  }
}
