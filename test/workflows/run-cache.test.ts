import { describe, expect, it } from 'vitest';
import { Endpoint, InMemorySagaStore, InMemoryTransport, silentLogger } from '../../src/index.js';
import { RunCache } from '../../src/workflows/run-cache.js';
import { type LiveRun } from '../../src/workflows/replay-step.js';
import { CacheLoop, describeRunCache } from './run-cache-scenarios.js';

describeRunCache(
  'in memory',
  async () => ({
    store: new InMemorySagaStore(),
    transport: () => new InMemoryTransport(),
    dispose: async () => {},
  }),
  5_000,
);

describe('RunCache', () => {
  const run = { generation: 0, epoch: 0 } as unknown as LiveRun;

  it('returns a run only at the version it was left at, taking it out; evicts the least recently used', () => {
    const cache = new RunCache(2);
    cache.put('a', { ...run, version: 3 });
    expect(cache.take('a', 4, () => true)).toBeUndefined(); // another version: dropped
    expect(cache.has('a')).toBe(false);
    cache.put('a', { ...run, version: 3 });
    expect(cache.take('a', 3, () => true)?.version).toBe(3);
    expect(cache.has('a')).toBe(false); // taken: a failed handling cannot reuse it
    cache.put('a', { ...run, version: 1 });
    cache.put('b', { ...run, version: 1 });
    cache.put('a', { ...run, version: 2 }); // a is now the most recent
    cache.put('c', { ...run, version: 1 });
    expect([cache.has('a'), cache.has('b'), cache.has('c')]).toEqual([true, false, true]);
    expect(cache.stats()).toEqual({ hits: 1, misses: 1, evictions: 1, size: 2 });
  });

  it('keeps nothing with maxRuns 0', () => {
    const cache = new RunCache(0);
    cache.put('a', { ...run, version: 1 });
    expect(cache.has('a')).toBe(false);
  });

  it('refuses a bad workflowOptions.cache.maxRuns, naming it', async () => {
    const endpoint = new Endpoint({
      name: 'bad-cache',
      workflows: [CacheLoop],
      logger: silentLogger,
      workflowOptions: { cache: { maxRuns: -1 } },
    });
    await expect(endpoint.start()).rejects.toThrow(/workflowOptions\.cache\.maxRuns/);
  });
});
