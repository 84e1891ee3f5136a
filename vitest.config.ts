import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    setupFiles: ['reflect-metadata'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts', 'samples/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/chaos/**'],
        },
      },
      // The core workflow tests once more with the run cache off: every message replays `run`, so
      // the cache never decides an outcome (docs/workflows.md, "The run cache").
      {
        extends: true,
        test: {
          name: 'workflows-no-cache',
          include: [
            'test/workflows/workflows.test.ts',
            'test/workflows/steps.test.ts',
            'test/workflows/durability.test.ts',
            'test/workflows/activity-timeouts.test.ts',
          ],
          env: { LONGHAUL_WORKFLOW_CACHE_RUNS: '0' },
        },
      },
      // The bounded chaos run starts its own store and worker processes and keeps both cores busy
      // for a minute or two: it runs after the rest, so neither slows the other into timeouts.
      {
        extends: true,
        // One chaos run at a time: each starts its own store and workers (fileParallelism false).
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          fileParallelism: false,
        },
      },
    ],
  },
});
