#!/usr/bin/env node
/**
 * The `longhaul` command line: `longhaul errors …`, `longhaul instances …` and `longhaul
 * workflows …` (see `--help`).
 * Exit codes: 0 success, 1 the operation failed (or found nothing), 2 wrong arguments.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { consoleCommand } from './console.js';
import { errorsCommand } from './errors.js';
import { instancesCommand } from './instances.js';
import { workflowsCommand } from './workflows.js';
import { type CliIo, processIo, UsageError } from './io.js';

export { type CliIo, processIo } from './io.js';

const HELP = `Usage: longhaul <command> [options]

Commands:
  errors list <endpoint>               list the messages in an endpoint's error queue
  errors show <endpoint> <messageId>   show one failed message
  errors replay <endpoint> (--id <id>... | --all | filters)
                                       move failed messages back to their queue
  errors delete <endpoint> (--id <id>... | --all | filters)
                                       remove failed messages for good
  instances list|counts [filters]      find and count sagas and workflows (labels, status, …)
  instances show|actions <type> <id>   one instance in full / the actions taken on it
  instances cancel-timeout|fire-timeout|retry-outbox|dead-letter-outbox|complete …
                                       steer a saga (recorded with --reason and --by)
  workflows start|signal|cancel|terminate|resume|reset|purge …
                                       steer workflow instances on --endpoint (recorded)
  workflows show|history <id>          a workflow instance, its history with times
  workflows replay --module <path> (--file <f> | --dir <d> | --id <id> | --running)
                                       replay recorded workflow histories against the
                                       current code; report the first divergence of each
  workflows export (--id <id> | --running --type <t>) [--out <path>]
                                       write instances' histories to JSON files
  console [--error-queue <endpoint>...] [--port <n>] [--token <t>] [--read-only]
                                       serve the operations web console on 127.0.0.1

Every command takes the same connection options where it needs them: --amqp ($RABBITMQ_URL),
--prefix ($LONGHAUL_PREFIX), --mongo ($MONGODB_URL), --database ($LONGHAUL_DATABASE),
--collection-prefix ($LONGHAUL_COLLECTION_PREFIX), --endpoint ($LONGHAUL_ENDPOINT); --json and
--help everywhere.`;

/**
 * Runs the command line `argv` (without the node and script paths); resolves with the exit code.
 * @example
 * ```ts
 * const code = await main(['errors', 'list', 'shop', '--url', 'amqp://localhost']);
 * ```
 */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      io.out(HELP);
      return command === undefined ? 2 : 0;
    }
    if (command === 'errors') return await errorsCommand(rest, io);
    if (command === 'workflows') return await workflowsCommand(rest, io);
    if (command === 'instances') return await instancesCommand(rest, io);
    if (command === 'console') return await consoleCommand(rest, io);
    throw new UsageError(`Unknown command '${command}'.\n\n${HELP}`);
  } catch (error) {
    if (
      error instanceof UsageError ||
      (error as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS')
    ) {
      io.err((error as Error).message);
      return 2;
    }
    io.err(`longhaul: ${(error as Error).message}`);
    return 1;
  }
}

/** True when this file is the program being run (also through an npm `bin` symlink). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.exitCode = await main(process.argv.slice(2));
}
