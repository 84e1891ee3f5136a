/** `longhaul console`: serves the operations web console for a RabbitMQ + MongoDB deployment. */
import { parseArgs } from 'node:util';
import { connectConsole } from '../console/connect.js';
import { redactUrl } from '../console/redact.js';
import { startConsole } from '../console/server.js';
import { consoleLogger } from '../util/logger.js';
import { broker, CONNECTION_HELP, CONNECTION_OPTIONS, storeLocation } from './connection.js';
import { type CliIo, UsageError } from './io.js';

export const CONSOLE_HELP = `Usage: longhaul console [--mongo <url>] [--database <name>] [options]

Serves the operations console (overview, instance search and timelines, error queues with
replay, workflow and saga actions behind a confirmation) on http://127.0.0.1:8240/ until
interrupted (Ctrl-C). Connection strings are shown with their passwords redacted.

Options:
  --error-queue <endpoint>     an endpoint whose error queue the console lists (repeatable;
                               any other opens at /errors/<endpoint>)
  --port <n>                   the port (default: 8240; 0 picks a free one)
  --host <address>             the interface (default: 127.0.0.1; another needs a token)
  --token <token>              an access token every request must carry
                               ($LONGHAUL_CONSOLE_TOKEN, else none); open /?token=<token> once
  --read-only                  refuse every action
  -h, --help                   show this help

${CONNECTION_HELP}
  (--endpoint is where workflow actions go: resume, signal, cancel, terminate, reset)`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  'error-queue': { type: 'string', multiple: true },
  port: { type: 'string' },
  host: { type: 'string' },
  token: { type: 'string' },
  'read-only': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Resolves on SIGINT or SIGTERM. */
function interrupted(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

/**
 * Runs `console …`; resolves with the exit code once `until` resolves (default: on SIGINT or
 * SIGTERM).
 */
export async function consoleCommand(
  args: readonly string[],
  io: CliIo,
  until: () => Promise<void> = interrupted,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.out(CONSOLE_HELP);
    return 0;
  }
  if (positionals.length > 0) {
    throw new UsageError(`'console' takes no arguments, got '${positionals.join(' ')}'.\n\n${CONSOLE_HELP}`);
  }
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) {
      throw new UsageError(`--port must be an integer from 0 to 65535, got '${values.port}'`);
    }
  }
  const store = storeLocation(values, io);
  if (!store)
    throw new UsageError(
      `Say where the instances are: --mongo <url> (or set MONGODB_URL).\n\n${CONSOLE_HELP}`,
    );
  const { url: amqp, prefix } = broker(values, io);
  const token = values.token ?? io.env.LONGHAUL_CONSOLE_TOKEN;
  const logger = consoleLogger('warn');
  const connection = await connectConsole({
    amqp,
    prefix,
    mongo: store.url,
    database: store.database,
    ...(store.collectionPrefix !== undefined ? { collectionPrefix: store.collectionPrefix } : {}),
    ...(store.collection !== undefined ? { collection: store.collection } : {}),
    workflowEndpoint: values.endpoint ?? io.env.LONGHAUL_ENDPOINT,
    logger,
  });
  try {
    const server = await startConsole({
      operations: connection.operations,
      health: connection.health,
      endpoints: values['error-queue'] ?? [],
      ...(port !== undefined ? { port } : {}),
      ...(values.host !== undefined ? { host: values.host } : {}),
      ...(token !== undefined ? { token } : {}),
      readOnly: values['read-only'] ?? false,
      sources: { amqp, mongo: store.url, database: store.database },
      logger,
    });
    io.out(
      `Longhaul console on ${server.url}${token !== undefined ? ' (open it once with ?token=<your token>)' : ''}` +
        `${values['read-only'] ? ', read-only' : ''}\n  broker ${redactUrl(amqp)}\n  store  ${redactUrl(store.url)} (database ${store.database})\nCtrl-C stops it.`,
    );
    await until();
    await server.close();
    return 0;
  } finally {
    await connection.close();
  }
}
