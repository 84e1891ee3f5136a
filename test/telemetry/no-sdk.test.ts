/**
 * Without an OpenTelemetry SDK (nothing registered in this file's process), the hooks meet the
 * API's no-op globals: messages carry no trace headers and log records no trace ids.
 */
import { describe, expect, it } from 'vitest';
import { type Logger } from '../../src/index.js';
import { runOrder } from './order-run.js';

describe('telemetry without an SDK', () => {
  it('adds no trace headers and no trace ids, and the order still completes', async () => {
    const records: Record<string, unknown>[] = [];
    const keep = (_message: string, fields?: Record<string, unknown>): void =>
      void records.push(fields ?? {});
    const logger: Logger = { debug: keep, info: keep, warn: keep, error: keep };
    const t = await runOrder('o-plain', { name: 'plain', logger });
    expect(t.transport.log.length).toBeGreaterThan(4);
    for (const entry of t.transport.log)
      expect(Object.keys(entry.message.headers)).not.toContain('traceparent');
    expect(records.length).toBeGreaterThan(0);
    for (const fields of records) expect(fields).not.toHaveProperty('traceId');
    await t.endpoint.close();
  });
});
