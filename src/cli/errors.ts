/** `longhaul errors list|show|replay`: the error queues of a RabbitMQ deployment. */
import { parseArgs } from 'node:util';
import { type ErrorQueueMessage, RabbitMqTransport } from '../bus/rabbitmq/index.js';
import { consoleLogger } from '../util/logger.js';
import { type CliIo, UsageError } from './io.js';

const CONNECTION_HELP = `Connection options:
  --url <url>         the broker, amqp[s]://user:password@host:port/vhost
                      (default: $RABBITMQ_URL, else amqp://guest:guest@localhost:5672)
  --prefix <prefix>   the queue name prefix the endpoints were configured with (default: none)
  -h, --help          show this help`;

export const ERRORS_HELP = `Usage: longhaul errors <command> [options]

Inspect and replay the messages in an endpoint's error queue (<prefix><endpoint>.error).

Commands:
  list <endpoint>               list the failed messages (id, reason, attempts, time, error)
  show <endpoint> <messageId>   show one failed message: headers and body
  replay <endpoint>             move failed messages back to the queue they failed on

Run 'longhaul errors <command> --help' for a command's options.`;

const HELP: Record<string, string> = {
  list: `Usage: longhaul errors list <endpoint> [--limit <n>] [--json] [connection options]

Lists the messages in the endpoint's error queue, oldest first, leaving them in place.

Options:
  --limit <n>         list at most n messages (default: 1000)
  --json              print JSON (one array) instead of a table

${CONNECTION_HELP}`,
  show: `Usage: longhaul errors show <endpoint> <messageId> [--json] [connection options]

Shows one message of the endpoint's error queue: why it failed, its headers and its body.

Options:
  --json              print JSON instead of text

${CONNECTION_HELP}`,
  replay: `Usage: longhaul errors replay <endpoint> (--id <messageId>... | --all) [connection options]

Moves messages from the endpoint's error queue back to the queue of the endpoint they failed on
(header longhaul.error.source), without the longhaul.error.* and longhaul.delayed-retries headers,
so they are handled again with a fresh retry budget.

Options:
  --id <messageId>    replay this message (repeat the option for several)
  --all               replay every message in the error queue

${CONNECTION_HELP}`,
};

const COMMON = {
  url: { type: 'string' },
  prefix: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  limit: { type: 'string' },
  id: { type: 'string', multiple: true },
  all: { type: 'boolean' },
} as const;

const ALLOWED: Record<string, readonly string[]> = {
  list: ['url', 'prefix', 'help', 'json', 'limit'],
  show: ['url', 'prefix', 'help', 'json'],
  replay: ['url', 'prefix', 'help', 'id', 'all'],
};

const ARITY: Record<string, number> = { list: 1, show: 2, replay: 1 };

/** Body as text when it is UTF-8, else base64. */
function bodyText(body: Buffer): { encoding: 'utf8' | 'base64'; text: string } {
  try {
    return { encoding: 'utf8', text: new TextDecoder('utf-8', { fatal: true }).decode(body) };
  } catch {
    return { encoding: 'base64', text: body.toString('base64') };
  }
}

function asJson(message: ErrorQueueMessage): Record<string, unknown> {
  const body = bodyText(message.body);
  return {
    messageId: message.messageId,
    reason: message.reason,
    error: message.error,
    attempts: message.attempts,
    failedAt: message.failedAt,
    source: message.source,
    headers: message.headers,
    body: body.text,
    bodyEncoding: body.encoding,
  };
}

function oneLine(text: string | undefined, width: number): string {
  const flat = (text ?? '').replace(/\s+/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

function table(messages: readonly ErrorQueueMessage[]): string {
  const rows = messages.map((m) => [
    m.messageId || '(no id)',
    m.reason,
    m.attempts === undefined ? '' : String(m.attempts),
    m.failedAt ?? '',
    oneLine(m.error, 80),
  ]);
  const head = ['MESSAGE ID', 'REASON', 'ATTEMPTS', 'FAILED AT', 'ERROR'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

function details(message: ErrorQueueMessage): string {
  const body = bodyText(message.body);
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
  return [
    `Message ${message.messageId || '(no id)'} from endpoint '${message.source}'`,
    `Reason:   ${message.reason}`,
    `Error:    ${message.error ?? ''}`,
    `Attempts: ${message.attempts ?? ''}`,
    `Failed:   ${message.failedAt ?? ''}`,
    'Headers:',
    ...headers,
    ...(message.headers['longhaul.error.stack'] ? ['Stack:', message.headers['longhaul.error.stack']] : []),
    `Body (${body.encoding}, ${message.body.byteLength} bytes):`,
    shown,
  ].join('\n');
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
  if (command === 'replay' && !values.all && (values.id ?? []).length === 0) {
    throw new UsageError(`Say which messages to replay: --id <messageId> (repeatable) or --all.\n\n${help}`);
  }
  if (command === 'replay' && values.all && (values.id ?? []).length > 0) {
    throw new UsageError('Use either --id or --all, not both.');
  }
  const transport = new RabbitMqTransport({
    url: values.url ?? io.env.RABBITMQ_URL ?? 'amqp://guest:guest@localhost:5672',
    prefix: values.prefix ?? '',
    logger: consoleLogger('error'),
    connectionName: 'longhaul-cli',
    reconnect: { maxAttempts: 1 },
  });
  try {
    await transport.start();
    const queues = transport.errorQueues;
    if (command === 'list') {
      const messages = await queues.list(endpoint, { limit });
      if (values.json) io.out(JSON.stringify(messages.map(asJson), null, 2));
      else if (messages.length === 0) io.out(`The error queue of '${endpoint}' is empty.`);
      else io.out(`${table(messages)}\n\n${messages.length} message(s) in the error queue of '${endpoint}'.`);
      return 0;
    }
    if (command === 'show') {
      const messageId = positionals[1] as string;
      const message = await queues.show(endpoint, messageId);
      if (!message) {
        io.err(`No message '${messageId}' in the error queue of '${endpoint}'.`);
        return 1;
      }
      io.out(values.json ? JSON.stringify(asJson(message), null, 2) : details(message));
      return 0;
    }
    const result = await queues.replay(endpoint, values.all ? { all: true } : { ids: values.id ?? [] });
    io.out(`Replayed ${result.replayed.length} message(s) from the error queue of '${endpoint}'.`);
    for (const id of result.missing) io.err(`Not found: ${id}`);
    for (const failure of result.failed) io.err(`Failed: ${failure.messageId}: ${failure.error}`);
    return result.missing.length > 0 || result.failed.length > 0 ? 1 : 0;
  } finally {
    await transport.close();
  }
}
