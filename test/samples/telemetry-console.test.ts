import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('samples/telemetry-console.ts', () => {
  it('prints the spans of one order as one trace, and its metrics', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'samples/telemetry-console.ts'],
      { timeout: 60_000 },
    );
    // ConsoleSpanExporter prints one object per span: its top-level fields are indented by two.
    const traceIds = new Set([...stdout.matchAll(/^ {2}traceId: '([0-9a-f]{32})'/gm)].map((m) => m[1]));
    const spans = [...stdout.matchAll(/^ {2}name: '([^']+)'/gm)].map((m) => m[1]);
    expect(traceIds.size).toBe(1);
    expect(spans).toEqual(
      expect.arrayContaining([
        'publish tel.OrderPlaced',
        'process tel.OrderPlaced',
        'saga tel.Checkout',
        'commit tel.Checkout',
        'send shop',
        'process tel.ChargePayment',
        'handler Payments',
        'publish tel.PaymentCharged',
        'process tel.PaymentCharged',
      ]),
    );
    expect(stdout).toMatch(/name: 'longhaul\.messages\.handled'/);
    expect(stdout).toContain('order-1 completed');
  });
});
