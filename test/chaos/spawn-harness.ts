/**
 * Runs the chaos harness (run.ts) as a child process for the bounded CI tests, on its own store
 * port, and collects what it prints. The harness bounds itself; a backstop asks it to stop (it then
 * kills its workers) shortly before the test's own limit.
 */
import { spawn } from 'node:child_process';

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
