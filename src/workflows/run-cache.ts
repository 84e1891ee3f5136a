/**
 * The run cache: each endpoint keeps the runs it suspended (the live `run` awaiting its next
 * event, with its history index), keyed by instance id, with the version their handling's commit
 * wrote. When the next message for the instance loads it at that version, the run is resumed with
 * the new event instead of being replayed from the top, so a message costs what its events cost,
 * not what the whole history costs.
 *
 * Correctness never depends on it: a run enters the cache only once its handling's final commit
 * landed (a conflict, a failed handler or a crash before the commit leave nothing behind), a
 * handling takes the run out before it uses it (a failure half-way loses it, never reuses it), and
 * any other version — another worker or a redelivery advanced the instance — means a replay. Runs
 * that a resume could not carry on exactly as a replay would (a step waiting for its retry timer,
 * a combinator over pending operations, code that called `ctx` while suspended) are not kept.
 *
 * Bounded by count (least recently used evicted first). An evicted run is only dropped: it holds
 * no timer or listener, its pending promises are never settled, and nothing references it after.
 */
import { ConfigurationError } from '../errors.js';
import { type KnownItems } from '../persistence/saga-store.js';
import { type LiveRun } from './replay-step.js';

/** Run cache options of an endpoint (`workflowOptions.cache`). */
export interface WorkflowCacheOptions {
  /**
   * Suspended runs kept per endpoint; `0` turns the cache off (every message replays `run`).
   * @defaultValue 1000, or `LONGHAUL_WORKFLOW_CACHE_RUNS` when that variable is set (a switch for
   * tests and diagnosis)
   */
  maxRuns?: number;
}

/** What the cache did, since the endpoint started (see {@link RunCache.stats}). */
export interface RunCacheStats {
  /** Messages that resumed a cached run. */
  hits: number;
  /** Messages that replayed `run` (nothing cached, or cached at another version). */
  misses: number;
  /** Runs dropped to stay within `maxRuns`. */
  evictions: number;
  /** Runs kept now. */
  size: number;
}

/** A cached run and the version its handling's commit wrote. */
export interface CachedRun extends LiveRun {
  readonly version: number;
  /** The id of the instance's record (the store's, which timer messages name). */
  readonly sagaId?: string;
}

/** Bumped by {@link forgetCachedRuns}: runs kept before are never resumed. */
let restarts = 0;

/**
 * Forgets every run every cache of this process holds, as a restart would: for tests that stand
 * a deploy (changed workflow code) in for a new process. Each next message replays.
 */
export function forgetCachedRuns(): void {
  restarts++;
}

/** The default of {@link WorkflowCacheOptions.maxRuns}. */
export const DEFAULT_CACHED_RUNS = 1000;

/** Validates `workflowOptions.cache`; throws a `ConfigurationError` naming the field. */
export function resolveCacheOptions(options: WorkflowCacheOptions | undefined): number {
  const fromEnv = process.env.LONGHAUL_WORKFLOW_CACHE_RUNS;
  const value =
    options?.maxRuns ?? (fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : DEFAULT_CACHED_RUNS);
  if (!Number.isInteger(value) || value < 0) {
    throw new ConfigurationError(
      options?.maxRuns !== undefined ? 'workflowOptions.cache.maxRuns' : 'LONGHAUL_WORKFLOW_CACHE_RUNS',
      `expected an integer >= 0, got ${String(options?.maxRuns ?? fromEnv)}`,
    );
  }
  return value;
}

/** @internal A bounded LRU of suspended runs by instance id. */
export class RunCache {
  private readonly runs = new Map<string, CachedRun & { readonly restarts: number }>();
  /** Instance ids by record id, for the runs that have one. */
  private readonly bySagaId = new Map<string, string>();
  private readonly counts = { hits: 0, misses: 0, evictions: 0 };

  constructor(readonly maxRuns: number) {}

  /**
   * Takes the run of `instanceId` out of the cache. It is returned only if it was left at
   * `version` (the version this handling loaded) and `usable` accepts it; otherwise it is dropped
   * and undefined returned (a miss: the handling replays).
   */
  take(instanceId: string, version: number, usable: (run: CachedRun) => boolean): CachedRun | undefined {
    const run = this.runs.get(instanceId);
    if (run) this.drop(instanceId);
    if (run && run.version === version && run.restarts === restarts && usable(run)) {
      this.counts.hits++;
      return run;
    }
    this.counts.misses++;
    return undefined;
  }

  /** Keeps `run` as the latest of `instanceId`, evicting the least recently used beyond the bound. */
  put(instanceId: string, run: CachedRun): void {
    if (this.maxRuns === 0) return;
    this.drop(instanceId);
    this.runs.set(instanceId, { ...run, restarts });
    if (run.sagaId !== undefined) this.bySagaId.set(run.sagaId, instanceId);
    while (this.runs.size > this.maxRuns) {
      this.drop(this.runs.keys().next().value as string);
      this.counts.evictions++;
    }
  }

  /**
   * The history a kept run holds and the version it is at, without taking the run (the hint a
   * load gives the store, see `FindOptions.known`); by instance id, or by record id.
   */
  peek(ref: { readonly instanceId?: string; readonly sagaId?: string }): KnownItems | undefined {
    const instanceId =
      ref.instanceId ?? (ref.sagaId === undefined ? undefined : this.bySagaId.get(ref.sagaId));
    const run = instanceId === undefined ? undefined : this.runs.get(instanceId);
    if (!run || run.restarts !== restarts) return undefined;
    return { version: run.version, field: 'history', items: run.index.history };
  }

  /** Drops the run of `instanceId`, if any. */
  drop(instanceId: string): void {
    const run = this.runs.get(instanceId);
    if (run?.sagaId !== undefined) this.bySagaId.delete(run.sagaId);
    this.runs.delete(instanceId);
  }

  /** Whether a run of `instanceId` is kept (for tests). */
  has(instanceId: string): boolean {
    return this.runs.has(instanceId);
  }

  stats(): RunCacheStats {
    return { ...this.counts, size: this.runs.size };
  }
}
