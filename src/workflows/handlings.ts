/**
 * What the engine keeps per handling of a message: the history index it works on, built once (or
 * taken with a cached run), and the run the handling leaves suspended, which it hands to the run
 * cache once the handling's commit has landed (see `run-cache.ts`).
 */
import { type EngineDeps } from './engine.js';
import { HistoryIndex } from './history.js';
import { impl, type Ctx, type LiveRun } from './replay-step.js';
import { type CachedRun, type RunCache } from './run-cache.js';

/** What one handling works on: its history index, and the cached run it resumes, if any. */
export interface Handling {
  readonly index: HistoryIndex;
  /** The cached run taken for this handling, until `advance` resumes it. */
  resume?: CachedRun;
  /** The run this handling's replay or resume left suspended. */
  live?: LiveRun;
}

/** @internal The handlings in progress, by their saga context. */
export class Handlings {
  private readonly byContext = new WeakMap<object, Handling>();

  constructor(
    private readonly runs: RunCache,
    private readonly deps: Pick<EngineDeps, 'build' | 'resolveWorkflow'>,
  ) {}

  /**
   * The handling's index, built once per handling: the cached run's (rebased on the history just
   * loaded) when one was left at the version loaded, else a new one over the history. A history
   * replaced meanwhile (reset, continueAsNew) gets a new index, and no resume.
   */
  of(ctx: Ctx): Handling {
    const context = impl(ctx);
    const known = this.byContext.get(context);
    if (known?.index.history === ctx.state.history) return known;
    const resume = known ? undefined : this.takeRun(ctx);
    const handling: Handling = resume
      ? { index: resume.index, resume }
      : { index: new HistoryIndex(ctx.state.history, { build: this.deps.build }) };
    this.byContext.set(context, handling);
    return handling;
  }

  /**
   * Keeps the run this handling leaves suspended (resumed, replayed, or untouched) for the next
   * message, once the handling's commit has landed, at the version it wrote.
   */
  keepRun(ctx: Ctx): void {
    const handling = this.byContext.get(impl(ctx));
    const run = handling?.live ?? handling?.resume;
    const state = ctx.state;
    if (!run || state.status !== 'running' || run.index.history !== state.history) return;
    if (run.generation !== state.generation || run.epoch !== (state.epoch ?? 0)) return;
    const live: LiveRun = {
      replay: run.replay,
      index: run.index,
      handle: run.handle,
      generation: run.generation,
      epoch: run.epoch,
      code: run.code,
    };
    const sagaId = impl(ctx).sagaId;
    impl(ctx).onCommitted = (version) => this.runs.put(state.instanceId, { ...live, version, sagaId });
  }

  /** The cached run of this instance if it may go on from the state just loaded (then rebased on it). */
  private takeRun(ctx: Ctx): CachedRun | undefined {
    if (ctx.isNew || this.runs.maxRuns === 0) return undefined;
    const state = ctx.state;
    const run = this.runs.take(
      state.instanceId,
      impl(ctx).loadedVersion,
      (r) =>
        r.generation === state.generation &&
        r.epoch === (state.epoch ?? 0) &&
        state.status === 'running' &&
        !state.interrupted &&
        !r.replay.tainted &&
        r.handle.outcome.kind === 'suspended' &&
        r.index.history.length === state.history.length &&
        r.code === this.deps.resolveWorkflow(state.type)?.constructor,
    );
    run?.index.rebase(state.history);
    return run;
  }
}
