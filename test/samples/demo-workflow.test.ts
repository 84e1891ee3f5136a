import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('npm run demo:workflow', () => {
  it('kills the process mid-workflow; a second one resumes where it left off without repeating completed steps', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'samples/demo-workflow.ts'],
      { timeout: 90_000 },
    );
    const lines = stdout.split('\n');
    const ran = lines.filter((l) => /^ {2}\[[AB]\] [a-z-]+ \(run \d\)$/.test(l)).map((l) => l.trim());
    // A runs steps 1-3 and dies in 3; B runs 3 again (it never finished) and 4, never 1 or 2.
    expect(ran).toEqual([
      '[A] reserve-stock (run 1)',
      '[A] charge-card (run 1)',
      '[A] ship-parcel (run 1)',
      '[B] ship-parcel (run 2)',
      '[B] send-receipt (run 1)',
    ]);
    expect(stdout).toMatch(/status running, \d+ history events\n {2}waiting for: activity demo\.ship-parcel/);
    expect(stdout).toMatch(/never acknowledged: .*longhaul\.workflow\.ExecuteActivity/);
    expect(stdout).toContain('Result: order-7: reservation-order-7, payment-order-7, parcel-order-7');
    expect(stdout).toMatch(/reserve-stock +once: not repeated after the crash/);
    expect(stdout).toMatch(/charge-card +once: not repeated after the crash/);
  });
});
