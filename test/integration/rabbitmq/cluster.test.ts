/**
 * A real 3-node RabbitMQ cluster on this machine (`scripts/rabbitmq-cluster.sh` on base port 5711:
 * nodes lh-rmq-5711-1..3 on 127.0.0.1:5711-5713, data under /tmp/longhaul-rmq-cluster-5711, next to
 * the broker on 5672, a manual cluster on the default 5701 and the cluster chaos test's on 5721),
 * quorum queues, and a node stopped while messages flow: the transports fail over to another node,
 * no message is lost and none is handled twice (the saga inbox recognises the broker's
 * redeliveries). The cluster is started for this file (about 30 s) and stopped after it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Command,
  type Endpoint,
  InMemorySagaStore,
  type Logger,
  Saga,
  type SagaContext,
  StartedBy,
} from '../../../src/index.js';
import { eventually, TestBed } from './support.js';

const run = promisify(execFile);
const script = new URL('../../../scripts/rabbitmq-cluster.sh', import.meta.url).pathname;
const cluster = async (...args: string[]): Promise<string> =>
  (
    await run('bash', [script, ...args], {
      timeout: 180_000,
      env: { ...process.env, LONGHAUL_RMQ_CLUSTER_PORT: '5711' },
    })
  ).stdout.trim();

/** How many times a handler ran for each message id. */
const runs = new Map<string, number>();

@Command('it.cluster.Job')
class Job {
  constructor(readonly n: number) {}
}

@Saga('it.cluster.Jobs')
class Jobs {
  @StartedBy(Job, { correlateBy: (m) => String(m.n), onExisting: 'handle' })
  async job(_message: Job, context: SagaContext<{ n: number }>): Promise<void> {
    runs.set(context.envelope.id, (runs.get(context.envelope.id) ?? 0) + 1);
    context.state = { n: 1 };
  }
}

function recording(lines: string[]): Logger {
  const keep = (message: string, fields?: Record<string, unknown>): void =>
    void lines.push(`${message} ${JSON.stringify(fields ?? {})}`);
  return { debug: () => undefined, info: keep, warn: keep, error: keep };
}

describe('a 3-node RabbitMQ cluster with quorum queues', () => {
  let urls: string[] = [];
  beforeAll(async () => {
    await cluster('start');
    urls = (await cluster('urls')).split(',');
  }, 180_000);
  afterAll(async () => {
    await cluster('start-node', '1').catch(() => undefined);
    await cluster('stop');
  }, 120_000);

  it('a node stopped while jobs flow: the transports fail over, every job is handled once', async () => {
    const bed = new TestBed();
    const lines: string[] = [];
    const options = {
      url: urls,
      queueType: 'quorum' as const,
      logger: recording(lines),
      reconnect: { initialDelay: '100ms', maxDelay: '1s', maxAttempts: 60 },
    };
    const store = new InMemorySagaStore();
    let worker: Endpoint | undefined;
    try {
      worker = bed.endpoint(bed.transport(options), {
        name: 'jobs',
        sagas: [Jobs],
        sagaStore: store,
        concurrency: 4,
      });
      await worker.start();
      const sender = bed.endpoint(bed.transport({ ...options, connectionName: `${bed.connectionName}-s` }), {
        name: 'sender',
        routes: { 'it.cluster.Job': 'jobs' },
      });
      await sender.start();
      // A send that fails while the cluster elects new leaders (the queue nacks publishes until
      // it has one) is retried, as a caller would, for up to a minute: on a loaded machine the
      // election after a whole node stops has taken longer than 10 s (50 tries 200 ms apart).
      const send = async (n: number): Promise<void> => {
        const deadline = Date.now() + 60_000;
        for (;;) {
          try {
            await sender.bus.send(new Job(n));
            return;
          } catch (error) {
            if (Date.now() > deadline) throw error;
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        }
      };
      for (let n = 0; n < 40; n++) await send(n);
      await eventually(() => runs.size >= 20, 'the first jobs handled', 30_000);

      await cluster('stop-node', '1'); // the whole node (its data kept); both transports are on it
      for (let n = 40; n < 100; n++) await send(n);

      await eventually(
        async () => {
          for (let n = 0; n < 100; n++) {
            if (!(await store.findByCorrelation('it.cluster.Jobs', String(n)))) return false;
          }
          return true;
        },
        'all 100 jobs handled',
        90_000,
      );
      expect(lines.some((l) => l.startsWith('RabbitMQ connection re-established'))).toBe(true);
      expect(lines.join('\n')).not.toContain('guest:guest');
      // Exactly once per message: redeliveries of what was in flight on node 1 were recognised.
      expect([...runs.values()].every((count) => count === 1)).toBe(true);
    } finally {
      await cluster('start-node', '1');
      await bed.dispose();
    }
  }, 180_000);
});
