import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('the package', () => {
  it('builds to an installable package with its types and the testing entry point', async () => {
    await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { timeout: 120_000 });
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      timeout: 60_000,
    });
    const files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    for (const file of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/testing/index.js',
      'dist/testing/index.d.ts',
      'dist/pino/index.js',
      'LICENSE',
      'README.md',
    ]) {
      expect(files).toContain(file);
    }
    expect(files.some((f) => f.startsWith('src/') || f.startsWith('test/'))).toBe(false);
    // The built code loads in plain Node, without a TypeScript loader.
    const { stdout: loaded } = await run(process.execPath, [
      '--input-type=module',
      '-e',
      "const m = await import('./dist/index.js'); const t = await import('./dist/testing/index.js'); console.log(typeof m.Endpoint, typeof m.longhaulModule, typeof t.SagaTestKit);",
    ]);
    expect(loaded.trim()).toBe('function function function');
    // A full type-check build of the package: tens of seconds on a busy 2-core machine.
  }, 180_000);
});
