/** `longhaul errors list|show|replay|delete`: the error queues of a RabbitMQ deployment. */
import { parseArgs } from 'node:util';
import { type ErrorMessageView, type ErrorSelection } from '../operations/api.js';
import {
  actor,
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  type ConnectionValues,
  openOperations,
  CONNECTION,
} from './connection.js';
import { dateOption, oneLine, table as drawTable } from './format.js';
import { type CliIo, UsageError } from './io.js';

export const ERRORS_HELP = `Usage: longhaul errors <command> [options]

Inspect, replay and delete the messages in an endpoint's error queue (<prefix><endpoint>.error).

Commands:
  list <endpoint>               list the failed messages (id, reason, attempts, time, error)
  show <endpoint> <messageId>   show one failed message: headers and body
  replay <endpoint>             move failed messages back to the queue they failed on
  delete <endpoint>             remove failed messages for good

Replay and delete are recorded (with --reason and --by) in the store's action log when the
store is given (--mongo or $MONGODB_URL). Run 'longhaul errors <command> --help' for options.`;

const SELECT = `Which messages (one of):
  --id <messageId>    this message (repeat the option for several)
  --all               every message in the error queue
  --failure <code>    those that failed with this reason code (e.g. handler-error)
  --type <type>       those of this message type
  --failed-before <t> those that failed before this time (ISO 8601)
  (--failure, --type and --failed-before combine: every one given must hold)

Options:
  --reason <text>     why (recorded)
  --by <name>         who (recorded; default: $LONGHAUL_USER, else $USER)
  --json              print JSON`;

const HELP: Record<string, string> = {
  list: `Usage: longhaul errors list <endpoint> [--limit <n>] [--json] [connection options]

Lists the messages in the endpoint's error queue, oldest first, leaving them in place.

Options:
  --limit <n>         list at most n messages (default: 1000)
  --json              print JSON (one array) instead of a table
  -h, --help          show this help

${CONNECTION_HELP}`,
  show: `Usage: longhaul errors show <endpoint> <messageId> [--json] [connection options]

Shows one message of the endpoint's error queue: why it failed, its headers and its body.

Options:
  --json              print JSON instead of text
  -h, --help          show this help

${CONNECTION_HELP}`,
  replay: `Usage: longhaul errors replay <endpoint> (--id <messageId>... | --all | filters) [connection options]

Moves messages from the endpoint's error queue back to the queue of the endpoint they failed on
(header longhaul.error.source), without the longhaul.error.* and longhaul.delayed-retries headers,
so they are handled again with a fresh retry budget.

${SELECT}
  -h, --help          show this help

${CONNECTION_HELP}`,
  delete: `Usage: longhaul errors delete <endpoint> (--id <messageId>... | --all | filters) [connection options]

Removes messages from the endpoint's error queue for good.

${SELECT}
  -h, --help          show this help

${CONNECTION_HELP}`,
};

const COMMON = {
  ...CONNECTION_OPTIONS,
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  limit: { type: 'string' },
  id: { type: 'string', multiple: true },
  all: { type: 'boolean' },
  failure: { type: 'string' },
  type: { type: 'string' },
  'failed-before': { type: 'string' },
  reason: { type: 'string' },
  by: { type: 'string' },
} as const;

const READ = ['help', 'json', ...CONNECTION];
const ACT = [...READ, 'id', 'all', 'failure', 'type', 'failed-before', 'reason', 'by'];
const ALLOWED: Record<string, readonly string[]> = {
  list: [...READ, 'limit'],
  show: READ,
  replay: ACT,
  delete: ACT,
};

const ARITY: Record<string, number> = { list: 1, show: 2, replay: 1, delete: 1 };

function asJson(message: ErrorMessageView): Record<string, unknown> {
  return {
    messageId: message.messageId,
    type: message.type,
    reason: message.reason,
    error: message.error,
    attempts: message.attempts,
    failedAt: message.failedAt,
    source: message.source,
    headers: message.headers,
    body: message.body.text,
    bodyEncoding: message.body.encoding,
  };
}

function table(messages: readonly ErrorMessageView[]): string {
  const rows = messages.map((m) => [
    m.messageId || '(no id)',
    m.reason,
    m.attempts === undefined ? '' : String(m.attempts),
    m.failedAt ?? '',
    oneLine(m.error, 80),
  ]);
  return drawTable(['MESSAGE ID', 'REASON', 'ATTEMPTS', 'FAILED AT', 'ERROR'], rows);
}

function details(message: ErrorMessageView): string {
  const body = message.body;
  let shown = body.text;
  if (body.encoding === 'utf8') {
    try {
      shown = JSON.stringify(JSON.parse(body.text), null, 2);
    } catch {
      // not JSON: show the text as it is
    }
  }
  const headers = Object.entries(message.headers)
    .filter(([key]) => key !== 'longhaul.error.stack')
    .map(([key, value]) => `  ${key}: ${value}`);
  const bytes =
    body.encoding === 'utf8'
      ? Buffer.byteLength(body.text, 'utf8')
      : Buffer.from(body.text, 'base64').byteLength;
  return [
    `Message ${message.messageId || '(no id)'} from endpoint '${message.source}'`,
    `Reason:   ${message.reason}`,
    `Error:    ${message.error ?? ''}`,
    `Attempts: ${message.attempts ?? ''}`,
    `Failed:   ${message.failedAt ?? ''}`,
    'Headers:',
    ...headers,
    ...(message.headers['longhaul.error.stack'] ? ['Stack:', message.headers['longhaul.error.stack']] : []),
    `Body (${body.encoding}, ${bytes} bytes):`,
    shown,
  ].join('\n');
}

/** The messages the selection flags name; a usage error when none or several kinds are given. */
function selectionOf(
  values: { id?: string[]; all?: boolean; failure?: string; type?: string; 'failed-before'?: string },
  command: string,
  help: string,
): ErrorSelection {
  const ids = values.id ?? [];
  const filter = {
    ...(values.failure !== undefined ? { reason: values.failure } : {}),
    ...(values.type !== undefined ? { type: values.type } : {}),
    ...(values['failed-before'] !== undefined
      ? { failedBefore: dateOption(values['failed-before'], 'failed-before') as Date }
      : {}),
  };
  const kinds = [ids.length > 0, values.all === true, Object.keys(filter).length > 0].filter(Boolean).length;
  if (kinds === 0) {
    throw new UsageError(
      `Say which messages to ${command}: --id <messageId> (repeatable), --all, or --failure/--type/--failed-before.\n\n${help}`,
    );
  }
  if (kinds > 1) throw new UsageError('Use one of --id, --all or the filters, not several.');
  if (ids.length > 0) return { ids };
  if (values.all) return { all: true };
  return { filter };
}

/** Runs `errors <command> …`; resolves with the exit code. */
export async function errorsCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(ERRORS_HELP);
    return command === undefined ? 2 : 0;
  }
  const help = HELP[command];
  if (help === undefined) throw new UsageError(`Unknown command 'errors ${command}'.\n\n${ERRORS_HELP}`);
  const { values, positionals } = parseArgs({
    args: [...rest],
    options: COMMON,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.out(help);
    return 0;
  }
  const allowed = ALLOWED[command] as readonly string[];
  const extra = Object.keys(values).filter((key) => !allowed.includes(key));
  if (extra.length > 0)
    throw new UsageError(`'errors ${command}' takes no --${extra.join(', --')}.\n\n${help}`);
  if (positionals.length !== ARITY[command]) {
    throw new UsageError(
      `'errors ${command}' takes ${ARITY[command]} argument(s), got ${positionals.length}.\n\n${help}`,
    );
  }
  const endpoint = positionals[0] as string;
  let limit: number | undefined;
  if (values.limit !== undefined) {
    limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1)
      throw new UsageError(`--limit must be a positive integer, got '${values.limit}'`);
  }
  const selection =
    command === 'replay' || command === 'delete' ? selectionOf(values, command, help) : undefined;
  const opened = await openOperations(values as ConnectionValues, io, { errorQueues: true });
  try {
    const errors = opened.ops.errors;
    if (command === 'list') {
      const messages = await errors.list(endpoint, limit !== undefined ? { limit } : {});
      if (values.json) io.out(JSON.stringify(messages.map(asJson), null, 2));
      else if (messages.length === 0) io.out(`The error queue of '${endpoint}' is empty.`);
      else io.out(`${table(messages)}\n\n${messages.length} message(s) in the error queue of '${endpoint}'.`);
      return 0;
    }
    if (command === 'show') {
      const messageId = positionals[1] as string;
      const message = await errors.show(endpoint, messageId);
      if (!message) {
        io.err(`No message '${messageId}' in the error queue of '${endpoint}'.`);
        return 1;
      }
      io.out(values.json ? JSON.stringify(asJson(message), null, 2) : details(message));
      return 0;
    }
    const by = actor(values.by, io);
    const options = {
      ...(values.reason !== undefined ? { reason: values.reason } : {}),
      ...(by !== undefined ? { by } : {}),
    };
    const chosen = selection as ErrorSelection;
    const result =
      command === 'replay'
        ? await errors.replay(endpoint, chosen, options)
        : await errors.delete(endpoint, chosen, options);
    if (values.json) {
      io.out(
        JSON.stringify(
          {
            [command === 'replay' ? 'replayed' : 'deleted']: result.done,
            missing: result.missing,
            failed: result.failed,
            recorded: opened.recorded,
          },
          null,
          2,
        ),
      );
    } else {
      io.out(
        `${command === 'replay' ? 'Replayed' : 'Deleted'} ${result.done.length} message(s) from the error queue of '${endpoint}'.`,
      );
    }
    for (const id of result.missing) io.err(`Not found: ${id}`);
    for (const failure of result.failed) io.err(`Failed: ${failure.messageId}: ${failure.error}`);
    return result.missing.length > 0 || result.failed.length > 0 ? 1 : 0;
  } finally {
    await opened.close();
  }
}
