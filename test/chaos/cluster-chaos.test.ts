/**
 * CI's bounded chaos run on a real 3-node RabbitMQ cluster: the harness (run.ts) with
 * `--rabbitmq-cluster` on a cluster of its own (base port 5721: nodes lh-rmq-5721-1..3, data under
 * /tmp/longhaul-rmq-cluster-5721; apart from the cluster test's 5711 and a manual cluster's 5701)
 * and a store of its own (27048/27049). Workers get every node's URL and declare quorum queues;
 * nodes are stopped (cleanly or by SIGKILL) and restarted one at a time while orders flow, together
 * with worker kills and broker-closed connections. The harness starts the cluster and stops it
 * (deleting its data); afterAll stops it again in case the harness could not.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { harnessReport } from './spawn-harness.js';

const SAGAS = 300;
const SEED = process.env.LONGHAUL_CHAOS_SEED ?? '20261201';
const CLUSTER_PORT = '5721';
const LIMIT_MS = 330_000;

interface Report {
  rabbitmqCluster: { basePort: number; nodes: number } | false;
  faults: Record<string, number>;
  nodeStops: Record<string, number>;
  connectionsClosed: number;
  sagas: { expected: number; completed: number };
  effectsLost: number;
  effectsAppliedTwice: number;
  errorQueue: number;
  outboxPending: number;
  messagesLeftInQueues: number;
  violations: string[];
}

const exec = promisify(execFile);

describe('chaos on a RabbitMQ cluster', () => {
  afterAll(async () => {
    const script = new URL('../../scripts/rabbitmq-cluster.sh', import.meta.url).pathname;
    await exec('bash', [script, 'stop'], {
      env: { ...process.env, LONGHAUL_RMQ_CLUSTER_PORT: CLUSTER_PORT },
      timeout: 120_000,
    });
  }, 130_000);

  it(
    `${SAGAS} order sagas while cluster nodes stop and restart: every effect exactly once`,
    async () => {
      const report = await harnessReport<Report>(
        [
          '--rabbitmq-cluster',
          '--cluster-port',
          CLUSTER_PORT,
          '--faults',
          'node-stop,worker-kill,broker-close',
          '--sagas',
          String(SAGAS),
          '--workers',
          '3',
          '--seconds',
          '30',
          '--seed',
          SEED,
          '--quiesce-timeout',
          '150',
        ],
        { storePort: '27048', limitMs: LIMIT_MS },
      );
      expect(report.rabbitmqCluster).toEqual({ basePort: Number(CLUSTER_PORT), nodes: 3 });
      expect(report.faults['node-stop']).toBeGreaterThanOrEqual(2);
      const stopped = Object.values(report.nodeStops).reduce((a, b) => a + b, 0);
      expect(stopped, 'node stops carried out (stopped and back in the cluster)').toBeGreaterThanOrEqual(2);
      expect(report.faults['worker-kill']).toBeGreaterThanOrEqual(1);
      // close_all_connections is cluster-wide: the workers' connections (spread over the nodes) too.
      expect(report.connectionsClosed).toBeGreaterThanOrEqual(1);
      expect(report.sagas.completed).toBe(SAGAS);
      expect(report.effectsLost).toBe(0);
      expect(report.effectsAppliedTwice).toBe(0);
      expect(report.errorQueue).toBe(0);
      expect(report.outboxPending).toBe(0);
      expect(report.messagesLeftInQueues).toBe(0);
    },
    LIMIT_MS,
  );
});
