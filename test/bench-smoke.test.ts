/**
 * Smoke test of the bench: `bench/run.ts --quick` runs every row once with a small N against the
 * local RabbitMQ and the test store, exits 0 and prints each row in its table. Figures are not
 * checked (that is what `npm run bench` is for); a row that fails still prints, as INVALID.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));

/** Every row the quick run prints (both queue types). */
const ROWS = [
  'S/raw/broker-classic',
  'S/raw/broker-quorum',
  'S/raw/store-ferretdb',
  'S/longhaul/memory',
  'S/longhaul/rabbitmq-classic+memory',
  'S/longhaul/rabbitmq-quorum+memory',
  'S/longhaul/memory+ferretdb',
  'S/longhaul/rabbitmq-classic+ferretdb',
  'S/longhaul/rabbitmq-quorum+ferretdb',
  'S/nodets/shipped+memory',
  'S/nodets/nodelay+memory',
  'S/nodets/shipped+ferretdb',
  'S/nodets/nodelay+ferretdb',
  'rabbitmq/longhaul-transport',
  'W/longhaul/memory',
  'W/longhaul/rabbitmq-classic+ferretdb',
  'WH/memory/cache-10',
  'WH/memory/cache-5000',
  'WH/memory/replay-10',
  'WH/memory/replay-5000',
  'T/longhaul/memory',
  'T/longhaul/ferretdb',
  'dedupe/memory-0',
  'dedupe/memory-417',
  'dedupe/memory-1000',
  'dedupe/ferretdb-0',
  'dedupe/ferretdb-417',
  'dedupe/ferretdb-1000',
  'scale/memory-1k',
  'scale/memory-100k',
  'scale/ferretdb-small',
  'scale/ferretdb-large',
];

function runQuick(): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      tsx,
      ['bench/run.ts', '--quick', '--rounds', '1', '--n', '30'],
      { cwd: root, env: process.env, timeout: 150_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('bench --quick', () => {
  it('runs every row once and prints the table', { timeout: 180_000 }, async () => {
    const { code, stdout, stderr } = await runQuick();
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    const tableRows = stdout.split('\n').filter((line) => line.startsWith('| '));
    for (const row of ROWS) {
      expect(
        tableRows.some((line) => line.startsWith(`| ${row} |`)),
        `row ${row} missing from:\n${stdout}`,
      ).toBe(true);
    }
    expect(stdout).toMatch(/\| raw limit/);
    expect(stdout).toMatch(/\| target \(reported, not asserted\)/);
  });
});
