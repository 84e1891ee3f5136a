/**
 * The contention workload (bench/contention/run.ts) on 3 worker processes over RabbitMQ + FerretDB:
 * a few saga instances each get a run of bumps in sequence order. On one shared queue the workers
 * race on the same instances (commit conflicts, reruns, out-of-order arrivals: the bench's CT rows
 * show them side by side; test/integration/processes/processes.test.ts checks that competing
 * workers still count right); on a partitioned endpoint one process handles one key at a time, in
 * order, so nothing conflicts and nothing reruns.
 */
import { describe, expect, it } from 'vitest';
import { runContention } from '../../../bench/contention/run.js';

const keys = 3;
const perKey = 40;

describe('contention on 3 worker processes', () => {
  it('with 6 partitions: every bump counted once, in order, with no commit conflict and no rerun', async () => {
    const r = await runContention({ workers: 3, partitions: 6, keys, perKey, limitMs: 90_000 });
    expect(r.miscounted).toEqual({});
    expect(r.leftInQueues).toBe(0);
    expect(r.conflicts).toBe(0);
    expect(r.reruns).toBe(0);
    expect(r.outOfOrder).toBe(0);
  }, 120_000);
});
