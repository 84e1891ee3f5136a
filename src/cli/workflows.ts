/** `longhaul workflows replay|export`: replay tests of stored workflow histories, for CI before a deploy. */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { MongoSagaStore } from '../persistence/mongodb/index.js';
import { silentLogger } from '../util/logger.js';
import { type WorkflowClass, workflowNameOf } from '../workflows/definitions.js';
import { WORKFLOW_SAGA } from '../workflows/engine.js';
import { type WorkflowState } from '../workflows/history.js';
import { exportHistory, HistoryFormatError, type WorkflowHistory } from '../workflows/history-export.js';
import { type HistoryReplayResult, replayHistory } from '../workflows/replay-check.js';
import { type CliIo, UsageError } from './io.js';

const STORE_HELP = `Store options (for --id and --running):
  --mongo <url>              the MongoDB (or FerretDB) holding the instances (default: $MONGODB_URL)
  --database <name>          its database (default: longhaul)
  --collection <name>        the saga collection (default: <collection-prefix>sagas)
  --collection-prefix <p>    the stores' collection prefix (default: longhaul_)
The store is only read: no index is created, nothing is written.`;

export const WORKFLOWS_HELP = `Usage: longhaul workflows <command> [options]

Commands:
  replay    replay recorded histories against the current workflow code; report divergences
  export    write instances' histories to JSON files (the input of replay --file)

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
  mongo: { type: 'string' },
  database: { type: 'string' },
  collection: { type: 'string' },
  'collection-prefix': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const STORE = ['mongo', 'database', 'collection', 'collection-prefix'];
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

function positiveInt(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`--${option} must be a non-negative integer, got '${value}'`);
  return n;
}

/** The @Workflow classes a module exports (named, default, or in arrays), by type name. */
async function loadWorkflows(paths: readonly string[]): Promise<Map<string, WorkflowClass>> {
  const found = new Map<string, { ctor: WorkflowClass; from: string }>();
  for (const path of paths) {
    let exports: Record<string, unknown>;
    try {
      exports = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
    } catch (error) {
      throw new UsageError(`Cannot load --module ${path}: ${(error as Error).message}`);
    }
    for (const value of Object.values(exports).flatMap((v) => (Array.isArray(v) ? v : [v]))) {
      if (typeof value !== 'function') continue;
      let type: string;
      try {
        type = workflowNameOf(value as WorkflowClass);
      } catch {
        continue; // not a workflow class
      }
      const seen = found.get(type);
      if (seen && seen.ctor !== value)
        throw new UsageError(`Two workflow classes are named '${type}' (in ${seen.from} and ${path})`);
      found.set(type, { ctor: value as WorkflowClass, from: path });
    }
  }
  if (found.size === 0)
    throw new UsageError(
      `No @Workflow class is exported by ${paths.join(', ')}: export the classes (or an array of them)`,
    );
  return new Map([...found].map(([type, { ctor }]) => [type, ctor]));
}

/** Reads instances' histories from the store (read only). */
async function fromStore(
  values: { [K in keyof typeof OPTIONS]?: unknown },
  io: CliIo,
  types: readonly string[],
): Promise<{ histories: WorkflowHistory[]; missing: string[] }> {
  const url = (values.mongo as string | undefined) ?? io.env.MONGODB_URL;
  if (!url) throw new UsageError('Say where the instances are: --mongo <url> (or set MONGODB_URL)');
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5_000 });
  try {
    await client.connect();
    const store = new MongoSagaStore({
      client,
      database: values.database as string | undefined,
      collection: values.collection as string | undefined,
      collectionPrefix: values['collection-prefix'] as string | undefined,
      logger: silentLogger,
    });
    const histories: WorkflowHistory[] = [];
    const missing: string[] = [];
    for (const id of (values.id as string[] | undefined) ?? []) {
      const record = await store.findByCorrelation(WORKFLOW_SAGA, id);
      if (record) histories.push(exportHistory(record.state as WorkflowState));
      else missing.push(id);
    }
    if (values.running) {
      const limit = positiveInt(values.limit as string | undefined, 'limit', 10_000);
      for (const workflowType of types) {
        for (const status of ['running', 'parked']) {
          let after: string | undefined;
          let count = 0;
          while (count < limit) {
            const page = await store.list(
              WORKFLOW_SAGA,
              { labels: { workflowType, status } },
              { limit: Math.min(200, limit - count), after },
            );
            histories.push(...page.map((r) => exportHistory(r.state as WorkflowState)));
            count += page.length;
            if (page.length < 200) break;
            after = page.at(-1)?.id;
          }
        }
      }
    }
    return { histories, missing };
  } finally {
    await client.close();
  }
}

async function fromFiles(
  files: readonly string[],
  dir: string | undefined,
): Promise<{ name: string; text: string }[]> {
  const paths = [...files];
  if (dir !== undefined) {
    const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
    paths.push(...names.map((n) => join(dir, n)));
  }
  return Promise.all(
    paths.map(async (path) => {
      try {
        return { name: path, text: await readFile(path, 'utf8') };
      } catch (error) {
        throw new UsageError(`Cannot read ${path}: ${(error as Error).message}`);
      }
    }),
  );
}

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
    const stored = await fromStore(values, io, [...workflows.keys()]);
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
  const { histories, missing } = await fromStore(values, io, types);
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
