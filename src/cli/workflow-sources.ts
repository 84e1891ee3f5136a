/** Where `longhaul workflows` finds workflow code and histories: modules, files, the store. */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MongoClient } from 'mongodb';
import { MongoSagaStore } from '../persistence/mongodb/index.js';
import { silentLogger } from '../util/logger.js';
import { type WorkflowClass, workflowNameOf } from '../workflows/definitions.js';
import { WORKFLOW_SAGA } from '../workflows/engine.js';
import { type WorkflowState } from '../workflows/history.js';
import { exportHistory, type WorkflowHistory } from '../workflows/history-export.js';
import { storeLocation } from './connection.js';
import { type CliIo, UsageError } from './io.js';

/** A non-negative integer option, or `fallback` when absent. */
export function positiveInt(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`--${option} must be a non-negative integer, got '${value}'`);
  return n;
}

/** The @Workflow classes a module exports (named, default, or in arrays), by type name. */
export async function loadWorkflows(paths: readonly string[]): Promise<Map<string, WorkflowClass>> {
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

/** Where and what {@link fromStore} reads. */
export interface StoreQuery {
  readonly mongo?: string;
  readonly database?: string;
  readonly collection?: string;
  readonly 'collection-prefix'?: string;
  readonly id?: readonly string[];
  readonly running?: boolean;
  readonly limit?: string;
}

/** Reads instances' histories from the store (read only: no index is created). */
export async function fromStore(
  values: StoreQuery,
  io: CliIo,
  types: readonly string[],
): Promise<{ histories: WorkflowHistory[]; missing: string[] }> {
  const location = storeLocation(values, io);
  if (!location) throw new UsageError('Say where the instances are: --mongo <url> (or set MONGODB_URL)');
  const client = new MongoClient(location.url, { serverSelectionTimeoutMS: 5_000 });
  try {
    await client.connect();
    const store = new MongoSagaStore({
      client,
      database: location.database,
      collection: location.collection,
      collectionPrefix: location.collectionPrefix,
      logger: silentLogger,
    });
    const histories: WorkflowHistory[] = [];
    const missing: string[] = [];
    for (const id of values.id ?? []) {
      const record = await store.findByCorrelation(WORKFLOW_SAGA, id);
      if (record) histories.push(exportHistory(record.state as WorkflowState));
      else missing.push(id);
    }
    if (values.running) {
      const limit = positiveInt(values.limit, 'limit', 10_000);
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

export async function fromFiles(
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
