/**
 * The run cache (src/workflows/run-cache.ts) on any store and transport: hits, misses after
 * another worker advanced the instance, eviction, and a commit that did not land. Each "world"
 * builds endpoints that share one saga store and have their own transport (two workers whose
 * messages the test routes: each endpoint's client sends to its own broker).
 *
 * Hits and misses are observed from the outside: a replay calls `run` from the top again, a
 * resume does not, so the workflow counts its calls of `run` per instance.
 */
import { describe, expect, it } from 'vitest';
import {
  activity,
  Endpoint,
  Event,
  type SagaStore,
  silentLogger,
  type Transport,
  Workflow,
  type WorkflowCacheOptions,
  type WorkflowContext,
} from '../../src/index.js';

/** Calls of `run` by instance key. */
export const runCalls = new Map<string, number>();
/** Executions of the activity by instance key. */
export const executions = new Map<string, number>();
const bump = (map: Map<string, number>, key: string): void => void map.set(key, (map.get(key) ?? 0) + 1);

export const addOne = activity('cache.AddOne', (input: { key: string; n: number }) => {
  bump(executions, input.key);
  return input.n + 1;
});

@Event('cache.Go')
export class Go {
  constructor(readonly n: number) {}
}

@Workflow('cache.Loop')
export class CacheLoop {
  async run(
    ctx: WorkflowContext,
    input: { key: string; activities: number; signals: number },
  ): Promise<number> {
    bump(runCalls, input.key);
    let total = 0;
    for (let i = 0; i < input.activities; i++)
      total = await ctx.activity(addOne, { key: input.key, n: total });
    try {
      for (let i = 0; i < input.signals; i++) total += (await ctx.waitForEvent(Go))!.n;
    } catch (error) {
      if (ctx.cancelled) return -total; // compensation after a cancel
      throw error;
    }
    return total;
  }
}

@Workflow('cache.Fan')
export class CacheFan {
  async run(ctx: WorkflowContext, input: { key: string }): Promise<number> {
    bump(runCalls, input.key);
    const all = await ctx.all([1, 2, 3].map((n) => ctx.activity(addOne, { key: input.key, n })));
    const first = await ctx.race([ctx.activity(addOne, { key: input.key, n: 10 })]);
    const child = await ctx.child(CacheLoop, { key: `${input.key}-child`, activities: 2, signals: 0 });
    return all.reduce((a, b) => a + b, first + child);
  }
}

/** What a world gives the scenarios. */
export interface CacheWorld {
  /** The saga store every endpoint of the world shares. */
  readonly store: SagaStore;
  /** A new transport (its own broker, or its own queue prefix on the shared one). */
  transport(): Transport;
  /** Deletes what the world made. */
  dispose(): Promise<void>;
}

/** The scenarios, run against the world `make` builds for each test. */
export function describeRunCache(name: string, make: () => Promise<CacheWorld>, timeoutMs: number): void {
  describe(`the workflow run cache (${name})`, () => {
    const tag = Math.random().toString(36).slice(2, 8);
    const key = (what: string) => `${what}-${tag}`;

    async function withWorld<T>(
      fn: (world: CacheWorld, endpoint: (cache?: WorkflowCacheOptions) => Promise<Endpoint>) => Promise<T>,
    ): Promise<T> {
      const world = await make();
      const endpoints: Endpoint[] = [];
      const endpoint = async (cache?: WorkflowCacheOptions) => {
        const built = new Endpoint({
          name: `cache-${tag}`,
          transport: world.transport(),
          sagaStore: world.store,
          workflows: [CacheLoop, CacheFan],
          activities: [addOne],
          logger: silentLogger,
          recoverability: { immediateRetries: 3, delays: [] },
          ...(cache ? { workflowOptions: { cache } } : {}),
        });
        await built.start();
        endpoints.push(built);
        return built;
      };
      try {
        return await fn(world, endpoint);
      } finally {
        for (const e of endpoints) await e.stop();
        await world.dispose();
      }
    }

    /** Waits until the instance waits for a signal again, `times` signals taken. */
    async function waiting(endpoint: Endpoint, id: string, signalsTaken: number): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const status = await endpoint.workflows.status(id);
        const pending = status?.pending ?? [];
        const events = (await endpoint.workflows.history(id))?.events ?? [];
        const taken = events.filter((e) => e.e === 'completed' && 'signal' in e && e.signal).length;
        if (pending.some((p) => p.op === 'event') && taken >= signalsTaken) return;
        if (Date.now() > deadline) throw new Error(`${id} not waiting after ${signalsTaken} signals`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }

    const result = (endpoint: Endpoint, id: string) =>
      endpoint.workflows.result<number>(id, { timeout: timeoutMs, pollInterval: '10ms' });

    it('resumes a suspended run: run is called once for the whole workflow (with the cache off, once per message), with the same history', async () => {
      await withWorld(async (world, endpoint) => {
        // Every commit after the first appends the events it adds to the stored history.
        const appends: { length: number; from?: number }[] = [];
        const commit = world.store.commit.bind(world.store);
        world.store.commit = async (c) => {
          if (c.record.correlationKey === key('on')) {
            const history = (c.record.state as { history: unknown[] }).history;
            appends.push({ length: history.length, ...(c.append ? { from: c.append.from } : {}) });
          }
          return commit(c);
        };
        const cached = await endpoint();
        const off = await endpoint({ maxRuns: 0 });
        const input = (k: string) => ({ key: k, activities: 4, signals: 0 });
        await cached.workflows.start(CacheLoop, input(key('on')), { id: key('on') });
        await off.workflows.start(CacheLoop, input(key('off')), { id: key('off') });
        expect(await result(cached, key('on'))).toBe(4);
        expect(await result(off, key('off'))).toBe(4);
        expect(runCalls.get(key('on'))).toBe(1);
        expect(runCalls.get(key('off'))).toBe(5); // the start and each of the 4 results
        expect(executions.get(key('on'))).toBe(4);
        const shape = async (e: Endpoint, id: string) =>
          ((await e.workflows.history(id))?.events ?? []).map((ev) => `${ev.e}:${'seq' in ev ? ev.seq : ''}`);
        expect(await shape(cached, key('on'))).toEqual(await shape(off, key('off')));
        expect(appends).toHaveLength(5);
        expect(appends[0]!.from).toBeUndefined(); // the insert
        for (let i = 1; i < appends.length; i++) expect(appends[i]!.from).toBe(appends[i - 1]!.length);
      });
    });

    it('over a history of more than 100 events (sealed in chunks on MongoDB) loads with the cached history as a hint; another worker replays it whole', async () => {
      await withWorld(async (world, endpoint) => {
        const id = key('long');
        // The loads of this instance, with the length of the history the caller said it holds.
        const hints: (number | undefined)[] = [];
        const find = world.store.findByCorrelation.bind(world.store);
        world.store.findByCorrelation = async (type, correlationKey, hint) => {
          if (correlationKey === id) hints.push(hint?.known?.items.length);
          return find(type, correlationKey, hint);
        };
        const a = await endpoint();
        await a.workflows.start(CacheLoop, { key: id, activities: 70, signals: 2 }, { id });
        await waiting(a, id, 0);
        expect(runCalls.get(id)).toBe(1);
        const events = (await a.workflows.history(id))?.events ?? [];
        expect(events.length).toBeGreaterThan(140);
        // Results past the first chunk were loaded with the run's history as the hint.
        expect(hints.filter((n) => n !== undefined && n > 100).length).toBeGreaterThan(10);
        await a.workflows.signal(id, Go, new Go(5));
        await waiting(a, id, 1);
        expect(runCalls.get(id)).toBe(1);
        const b = await endpoint();
        await b.workflows.signal(id, Go, new Go(7)); // b holds no run: a replay of the whole history
        expect(await result(b, id)).toBe(70 + 5 + 7);
        expect(runCalls.get(id)).toBe(2);
        expect(executions.get(id)).toBe(70);
        const after = (await b.workflows.history(id))?.events ?? [];
        expect(after.slice(0, events.length)).toEqual(events);
      });
    });

    it('resumes a run waiting in ctx.all / ctx.race / ctx.child when the outcome it needs arrives', async () => {
      await withWorld(async (_world, endpoint) => {
        const cached = await endpoint();
        const id = key('fan');
        await cached.workflows.start(CacheFan, { key: id }, { id });
        expect(await result(cached, id)).toBe(2 + 3 + 4 + 11 + 2);
        expect(runCalls.get(id)).toBe(1);
        expect(runCalls.get(`${id}-child`)).toBe(1);
        expect(executions.get(id)).toBe(4);
      });
    });

    it('a cancel reaches the resumed run: its pending wait fails and it compensates', async () => {
      await withWorld(async (_world, endpoint) => {
        const cached = await endpoint();
        const id = key('cancel');
        await cached.workflows.start(CacheLoop, { key: id, activities: 1, signals: 2 }, { id });
        await waiting(cached, id, 0);
        await cached.workflows.signal(id, Go, new Go(5));
        await waiting(cached, id, 1);
        await cached.workflows.cancel(id, 'customer left');
        expect(await result(cached, id)).toBe(-6);
        expect(runCalls.get(id)).toBe(1);
      });
    });

    it('replays when another worker advanced the instance since the cached run left it', async () => {
      await withWorld(async (_world, endpoint) => {
        const a = await endpoint();
        const b = await endpoint();
        const id = key('two');
        await a.workflows.start(CacheLoop, { key: id, activities: 0, signals: 3 }, { id });
        await waiting(a, id, 0); // a keeps the run, at the version of its commit
        await b.workflows.signal(id, Go, new Go(10)); // b handles it: a replay (b has no run)
        await waiting(b, id, 1);
        expect(runCalls.get(id)).toBe(2);
        await a.workflows.signal(id, Go, new Go(20)); // a's run is of an older version: a replay
        await waiting(a, id, 2);
        expect(runCalls.get(id)).toBe(3);
        await a.workflows.signal(id, Go, new Go(30)); // a left this version itself: a resume
        expect(await result(a, id)).toBe(60);
        expect(runCalls.get(id)).toBe(3);
      });
    });

    it('evicts the least recently used run beyond maxRuns: its next message replays', async () => {
      await withWorld(async (_world, endpoint) => {
        const one = await endpoint({ maxRuns: 1 });
        const [x, y] = [key('x'), key('y')];
        for (const id of [x, y]) {
          await one.workflows.start(CacheLoop, { key: id, activities: 0, signals: 2 }, { id });
          await waiting(one, id, 0);
        }
        expect(runCalls.get(y)).toBe(1);
        await one.workflows.signal(x, Go, new Go(1)); // x was evicted by y: a replay, then x is kept
        await waiting(one, x, 1);
        expect(runCalls.get(x)).toBe(2);
        await one.workflows.signal(y, Go, new Go(1)); // y was evicted by x
        await waiting(one, y, 1);
        expect(runCalls.get(y)).toBe(2);
        await one.workflows.signal(y, Go, new Go(2)); // y is the one kept: a resume
        expect(await result(one, y)).toBe(3);
        expect(runCalls.get(y)).toBe(2);
      });
    });

    it('a run whose commit did not land is dropped: the redelivery replays, nothing runs twice', async () => {
      await withWorld(async (world, endpoint) => {
        const id = key('crash');
        let failing = false;
        const commit = world.store.commit.bind(world.store);
        world.store.commit = async (c) => {
          const history = (c.record.state as { history?: { e: string }[] } | null)?.history ?? [];
          // The commit of the second result, once: the run has advanced in memory, the store has not.
          if (!failing && history.filter((e) => e.e === 'completed').length === 2) {
            failing = true;
            throw new Error('simulated crash before the commit');
          }
          return commit(c);
        };
        const a = await endpoint();
        await a.workflows.start(CacheLoop, { key: id, activities: 3, signals: 0 }, { id });
        expect(await result(a, id)).toBe(3);
        expect(failing).toBe(true);
        expect(executions.get(id)).toBe(3);
        // The start, then one replay for the redelivery of the result whose commit failed.
        expect(runCalls.get(id)).toBe(2);
      });
    });
  });
}
