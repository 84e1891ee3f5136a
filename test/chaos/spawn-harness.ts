/**
 * Runs the chaos harness (run.ts) as a child process for the bounded CI tests, on its own store
 * port, and collects what it prints. The harness bounds itself; a backstop asks it to stop (it then
 * kills its workers) shortly before the test's own limit.
 */
import { spawn } from 'node:child_process';
import { expect } from 'vitest';

export function runHarness(
  args: readonly string[],
  options: { storePort: string; limitMs: number },
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/chaos/run.ts', ...args], {
      cwd: new URL('../../', import.meta.url).pathname,
      env: { ...process.env, LONGHAUL_CHAOS_STORE_PORT: options.storePort },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), options.limitMs - 10_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** The line the harness ends its output with: this prefix, then the report as JSON. */
const REPORT = 'CHAOS-REPORT ';

/**
 * Runs the harness and returns its report, having checked that it printed one, found no violation
 * and exited 0 (its whole output is printed when it did not, to tell why).
 */
export async function harnessReport<R extends { violations: readonly string[] }>(
  args: readonly string[],
  options: { storePort: string; limitMs: number },
): Promise<R> {
  const { code, output } = await runHarness(args, options);
  const line = output.split('\n').find((l) => l.startsWith(REPORT));
  if (code !== 0 || !line) console.log(output);
  expect(line, 'the harness printed its report').toBeDefined();
  const report = JSON.parse(line!.slice(REPORT.length)) as R;
  expect(report.violations).toEqual([]);
  expect(code).toBe(0);
  return report;
}
