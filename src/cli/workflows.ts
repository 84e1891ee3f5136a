/** `longhaul workflows replay|export`: replay tests of stored workflow histories, for CI before a deploy. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HistoryFormatError, type WorkflowHistory } from '../workflows/history-export.js';
import { type HistoryReplayResult, replayHistory } from '../workflows/replay-check.js';
import { CONNECTION, CONNECTION_OPTIONS } from './connection.js';
import { type CliIo, UsageError } from './io.js';
import { isWorkflowAction, workflowAction } from './workflow-actions.js';
import { fromFiles, fromStore, loadWorkflows, positiveInt, type StoreQuery } from './workflow-sources.js';

const STORE_HELP = `Store options (for --id and --running):
  --mongo <url>              the MongoDB (or FerretDB) holding the instances (default: $MONGODB_URL)
  --database <name>          its database (default: $LONGHAUL_DATABASE, else longhaul)
  --collection <name>        the saga collection (default: <collection-prefix>sagas)
  --collection-prefix <p>    the stores' collection prefix (default: $LONGHAUL_COLLECTION_PREFIX, else longhaul_)
The store is only read: no index is created, nothing is written.`;

export const WORKFLOWS_HELP = `Usage: longhaul workflows <command> [options]

Commands:
  start <type>              start an instance (--id, --input) on --endpoint
  signal <id> <eventType>   raise an event on an instance (--payload)
  cancel <id>               request cancellation (--reason)
  terminate <id>            end an instance at once (--reason)
  resume <id>               retry a parked instance's replay now
  reset <id>                rewind to after a history event (--after-event, --reason)
  purge <id>                delete a finished instance
  show <id>                 an instance in full
  history <id>              an instance's history with times and indexes
  replay                    replay recorded histories against the current workflow code;
                            report divergences
  export                    write instances' histories to JSON files (the input of replay --file)

Run 'longhaul workflows <command> --help' for a command's options.`;

const HELP: Record<string, string> = {
  replay: `Usage: longhaul workflows replay --module <path>... (--file <f>... | --dir <d> | --id <id>... | --running) [options]

Runs each history against the workflow classes that the modules export (as a worker of the new
build would replay it) and prints, for each, 'ok' with how far it replayed, or 'DIVERGED' with the
history position, what the history holds there and what the code asks for. Activities, timers and
children never run. Exit code: 0 all replay, 1 a divergence (or an instance not found), 2 bad arguments.

Options:
  --module <path>     a module exporting the @Workflow classes (named exports, arrays of them, or
                      default); repeatable. A .ts module needs node with tsx (node --import tsx)
  --file <path>       an exported history (longhaul workflows export, or client.history); repeatable
  --dir <path>        every *.json history in a directory
  --id <id>           an instance in the store; repeatable
  --running           every running or parked instance in the store of the modules' workflow types
  --limit <n>         with --running: at most n instances per type (default: 10000)
  --settle-ms <ms>    how long to watch a suspended replay for late ctx calls (default: 10)
  --parallel <n>      replays run at once (default: 16)
  --json              print the results as JSON
  -h, --help          show this help

${STORE_HELP}`,
  export: `Usage: longhaul workflows export (--id <id>... | --running --type <type>...) [--out <path>] [store options]

Writes histories in the format 'longhaul.workflow-history/1': one id without --out to standard
output; otherwise --out is a directory that receives <instance id>.json files.

Options:
  --id <id>           an instance to export; repeatable
  --running           every running or parked instance of the --type workflow types
  --type <type>       a workflow type name (with --running); repeatable
  --limit <n>         with --running: at most n instances per type (default: 10000)
  --out <path>        a file (one id) or a directory
  -h, --help          show this help

${STORE_HELP}`,
};

const OPTIONS = {
  module: { type: 'string', multiple: true },
  file: { type: 'string', multiple: true },
  dir: { type: 'string' },
  id: { type: 'string', multiple: true },
  running: { type: 'boolean' },
  type: { type: 'string', multiple: true },
  limit: { type: 'string' },
  'settle-ms': { type: 'string' },
  parallel: { type: 'string' },
  json: { type: 'boolean' },
  out: { type: 'string' },
  ...CONNECTION_OPTIONS,
  help: { type: 'boolean', short: 'h' },
} as const;

const STORE = CONNECTION;
const ALLOWED: Record<string, readonly string[]> = {
  replay: [
    'module',
    'file',
    'dir',
    'id',
    'running',
    'limit',
    'settle-ms',
    'parallel',
    'json',
    'help',
    ...STORE,
  ],
  export: ['id', 'running', 'type', 'limit', 'out', 'help', ...STORE],
};

async function replay(values: { [K in keyof typeof OPTIONS]?: unknown }, io: CliIo): Promise<number> {
  const modules = (values.module as string[] | undefined) ?? [];
  if (modules.length === 0)
    throw new UsageError(`Say where the workflow code is: --module <path>\n\n${HELP.replay}`);
  const files = (values.file as string[] | undefined) ?? [];
  const ids = (values.id as string[] | undefined) ?? [];
  if (files.length === 0 && values.dir === undefined && ids.length === 0 && !values.running)
    throw new UsageError(`Say which histories to replay: --file, --dir, --id or --running\n\n${HELP.replay}`);
  const settleTimeMs = positiveInt(values['settle-ms'] as string | undefined, 'settle-ms', 10);
  const workflows = await loadWorkflows(modules);
  const classes = [...workflows.values()];
  const sources: { name: string; history: WorkflowHistory | string }[] = (
    await fromFiles(files, values.dir as string | undefined)
  ).map((f) => ({ name: f.name, history: f.text }));
  let missing: string[] = [];
  if (ids.length > 0 || values.running) {
    const stored = await fromStore(values as StoreQuery, io, [...workflows.keys()]);
    sources.push(...stored.histories.map((h) => ({ name: h.instanceId, history: h })));
    missing = stored.missing;
  }
  // Replays mostly wait (for the settle time), so several run at once, each in its own order.
  const results: HistoryReplayResult[] = new Array<HistoryReplayResult>(sources.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < sources.length; i = next++) {
      const source = sources[i]!;
      try {
        results[i] = await replayHistory(classes, source.history, { settleTimeMs });
      } catch (error) {
        if (error instanceof HistoryFormatError) throw new UsageError(`${source.name}: ${error.message}`);
        throw error;
      }
    }
  };
  const parallel = positiveInt(values.parallel as string | undefined, 'parallel', 16) || 1;
  await Promise.all(Array.from({ length: Math.min(parallel, sources.length) }, worker));
  const diverged = results.filter((r) => !r.ok).length;
  if (values.json) io.out(JSON.stringify({ results, missing }, null, 2));
  else {
    for (const result of results) io.out(result.summary);
    io.out(`${results.length} histories: ${results.length - diverged} replay, ${diverged} diverged`);
  }
  for (const id of missing) io.err(`Not found: workflow instance '${id}'`);
  return diverged > 0 || missing.length > 0 ? 1 : 0;
}

async function exportCommand(values: { [K in keyof typeof OPTIONS]?: unknown }, io: CliIo): Promise<number> {
  const ids = (values.id as string[] | undefined) ?? [];
  const types = (values.type as string[] | undefined) ?? [];
  if (ids.length === 0 && !values.running)
    throw new UsageError(`Say which instances to export: --id or --running --type\n\n${HELP.export}`);
  if (values.running && types.length === 0) throw new UsageError('--running needs --type <workflow type>');
  const out = values.out as string | undefined;
  if (out === undefined && (values.running || ids.length > 1))
    throw new UsageError('Exporting several histories needs --out <directory>');
  const { histories, missing } = await fromStore(values as StoreQuery, io, types);
  const single = ids.length === 1 && !values.running;
  if (single && histories[0] && out === undefined) io.out(JSON.stringify(histories[0], null, 2));
  else if (single && histories[0] && out !== undefined && out.endsWith('.json'))
    await writeFile(out, `${JSON.stringify(histories[0], null, 2)}\n`);
  else if (out !== undefined) {
    await mkdir(out, { recursive: true });
    for (const history of histories) {
      const name = `${history.instanceId.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`;
      await writeFile(join(out, name), `${JSON.stringify(history, null, 2)}\n`);
    }
    io.err(`Wrote ${histories.length} histories to ${out}`);
  }
  for (const id of missing) io.err(`Not found: workflow instance '${id}'`);
  return missing.length > 0 ? 1 : 0;
}

/** Runs `workflows <command> …`; resolves with the exit code. */
export async function workflowsCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(WORKFLOWS_HELP);
    return command === undefined ? 2 : 0;
  }
  if (isWorkflowAction(command)) return workflowAction(command, rest, io);
  const help = HELP[command];
  if (help === undefined)
    throw new UsageError(`Unknown command 'workflows ${command}'.\n\n${WORKFLOWS_HELP}`);
  const { values, positionals } = parseArgs({
    args: [...rest],
    options: OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.out(help);
    return 0;
  }
  const extra = Object.keys(values).filter((key) => !(ALLOWED[command] as readonly string[]).includes(key));
  if (extra.length > 0)
    throw new UsageError(`'workflows ${command}' takes no --${extra.join(', --')}.\n\n${help}`);
  if (positionals.length > 0)
    throw new UsageError(`'workflows ${command}' takes no arguments, got '${positionals[0]}'.\n\n${help}`);
  return command === 'replay' ? replay(values, io) : exportCommand(values, io);
}
