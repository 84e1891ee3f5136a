import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('npm run demo', () => {
  it('prints the order flow, the timeout firing on the virtual clock, and an empty error queue', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'samples/demo.ts'], {
      timeout: 60_000,
    });
    expect(stdout).toMatch(/publish shop\.OrderPlaced \{"orderId":"o-1","total":42\}/);
    expect(stdout).toMatch(/send {4}payments\.ChargePayment → shop/);
    expect(stdout).toMatch(/publish shop\.OrderCompleted \{"orderId":"o-1"\}/);
    expect(stdout).toMatch(/09:15:00 {2}send {4}shop\.PaymentOverdue/);
    expect(stdout).toMatch(/publish shop\.OrderCancelled \{"orderId":"slow-2","reason":"payment overdue"\}/);
    expect(stdout).toMatch(/Error queue: 0 message/);
    expect(stdout.match(/OrderFulfilment state .* ⇒ completed/g)).toHaveLength(2);
  });
});
