/**
 * A chaos worker process: one endpoint on RabbitMQ (one broker, or the nodes of a cluster in
 * `LH_RABBITMQ_URL`, comma-separated, with `LH_QUEUE_TYPE=quorum`) + the chaos FerretDB running the scenario's saga
 * and handlers (`LH_SCENARIO`: scenario.ts for `orders`, long-lived.ts for `long-lived`), with its
 * timeout scheduler and outbox sweeper.
 *
 * stdout protocol (one line each): `ready`; `stats <json>` every second (counts since start);
 * `leased <n>` when armed and holding timeout leases. SIGUSR2 arms the worker: its next claim of
 * due timeouts is announced and then held (up to 30 s) so the driver can SIGKILL it while it holds
 * the leases. SIGTERM stops it gracefully.
 */
import 'reflect-metadata';
import { MongoClient } from 'mongodb';
import {
  type TimeoutClaim,
  Endpoint,
  type HandledMessage,
  type Logger,
  RabbitMqTransport,
} from '../../src/index.js';
import { MongoSagaStore } from '../../src/persistence/mongodb/index.js';
import { MongoTimeoutStore } from '../../src/timeouts/mongodb/index.js';
import { closeLedger, monitoring, watchClient } from './ledger.js';
import {
  AUDIT_ENDPOINT,
  AUDIT_SEND_CONFIRMED,
  ChaosAccount,
  LEDGER_ENDPOINT,
  LONG_LIVED_OUTBOX,
  longLivedHandlers,
} from './long-lived.js';
import { ChaosOrderFulfilment, chaosHandlers } from './scenario.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

export interface WorkerStats {
  /** Saga messages found in the instance's inbox (or its tombstone's): not handled again. */
  inboxDuplicates: number;
  /** Messages for a completed saga that were not in its inbox (ignored). */
  completedIgnored: number;
  timeoutIgnored: number;
  /** Commit attempts lost to a concurrent writer and rerun. */
  conflicts: number;
  committed: number;
  handlerFailures: number;
  sweptEntries: number;
  /** Ids the saga inbox cap evicted while still inside the dedupe window. */
  inboxEvictedInWindow: number;
  timeoutDeliveryFailures: number;
  errors: number;
}

const stats: WorkerStats = {
  inboxDuplicates: 0,
  completedIgnored: 0,
  timeoutIgnored: 0,
  conflicts: 0,
  committed: 0,
  handlerFailures: 0,
  sweptEntries: 0,
  inboxEvictedInWindow: 0,
  timeoutDeliveryFailures: 0,
  errors: 0,
};

function onHandled(handled: HandledMessage): void {
  for (const outcome of handled.sagas) {
    stats.conflicts += outcome.conflicts ?? 0;
    if (outcome.result === 'duplicate') stats.inboxDuplicates++;
    else if (outcome.result === 'completed-ignored') stats.completedIgnored++;
    else if (outcome.result === 'timeout-ignored') stats.timeoutIgnored++;
    else if (outcome.result === 'committed') stats.committed++;
  }
}

/** Counts what the endpoint reports and writes warnings and errors to stderr (the run's log file). */
const worker = env('LH_WORKER');
const write = (level: string, message: string, fields?: Record<string, unknown>): void => {
  process.stderr.write(
    `${new Date().toISOString()} ${worker} ${level} ${message} ${fields ? JSON.stringify(fields) : ''}\n`,
  );
};
const logger: Logger = {
  debug: () => {},
  info: () => {},
  warn: (message, fields) => {
    if (message === 'handler failed') stats.handlerFailures++;
    else if (message.startsWith('outbox sweeper dispatched'))
      stats.sweptEntries += Number(fields?.dispatched ?? 0);
    else if (message.startsWith('timeout delivery failed')) stats.timeoutDeliveryFailures++;
    else if (message.startsWith('saga inbox cap evicted'))
      stats.inboxEvictedInWindow += Number(fields?.evicted ?? 0);
    write('WARN', message, fields);
  },
  error: (message, fields) => {
    stats.errors++;
    write('ERROR', message, fields);
  },
};

let armed = false;
process.on('SIGUSR2', () => (armed = true));

/** The Mongo timeout store, with the hold described in the file header. */
class ArmableTimeoutStore extends MongoTimeoutStore {
  override async claimDue(limit: number, owner: string, leaseMs: number): Promise<TimeoutClaim> {
    const claimed = await super.claimDue(limit, owner, leaseMs);
    if (armed && claimed.timeouts.length > 0) {
      armed = false;
      process.stdout.write(`leased ${claimed.timeouts.length}\n`);
      await new Promise((resolve) => setTimeout(resolve, 30_000));
    }
    return claimed;
  }
}

/** One client for both stores, with its topology changes in the log (store-restart diagnosis). */
const client = new MongoClient(env('LH_MONGODB_URL'), {
  serverSelectionTimeoutMS: 5000,
  serverMonitoringMode: monitoring(),
  // A connection to a store that restarted can stay open and silent: fail such operations
  // instead of waiting forever, so retries reach the new server.
  socketTimeoutMS: 15_000,
  connectTimeoutMS: 5_000,
});
watchClient(client, 'store', (line) => write('INFO', line));
const mongo = { client, database: env('LH_DATABASE') };
const longLived = process.env.LH_SCENARIO === 'long-lived';
const queueType = process.env.LH_QUEUE_TYPE ?? 'classic';
if (queueType !== 'classic' && queueType !== 'quorum') throw new Error(`LH_QUEUE_TYPE: ${queueType}`);
const transport = new RabbitMqTransport({
  // A cluster's nodes, comma-separated: the transport fails over between them.
  url: env('LH_RABBITMQ_URL').split(','),
  queueType,
  prefix: env('LH_PREFIX'),
  connectionName: `${env('LH_PREFIX')}${worker}`,
  logger,
  reconnect: { initialDelay: '100ms', maxDelay: '2s' },
});
if (longLived) {
  // Every Audit the broker confirmed, with when (the check tells a message RabbitMQ confirmed as the
  // audit queue was deleted under it from a lost one; see long-lived-check.ts).
  const send = transport.send.bind(transport);
  transport.send = async (message, destination) => {
    await send(message, destination);
    if (destination !== AUDIT_ENDPOINT) return;
    const { accountId, seq } = JSON.parse(message.body.toString()) as { accountId: string; seq: number };
    write('INFO', AUDIT_SEND_CONFIRMED, { messageId: message.messageId, accountId, seq });
  };
}
const endpoint = new Endpoint({
  name: env('LH_ENDPOINT'),
  transport,
  sagaStore: new MongoSagaStore(mongo),
  timeoutStore: new ArmableTimeoutStore(mongo),
  sagas: longLived ? [ChaosAccount] : [ChaosOrderFulfilment],
  handlers: longLived ? [] : chaosHandlers,
  // Long-lived: every deposit of an account commits to one document, so more handlers per worker
  // only add commit conflicts (see docs/reliability.md).
  concurrency: Number(process.env.LH_CONCURRENCY ?? (longLived ? '2' : '8')),
  logger,
  onHandled,
  recoverability: { immediateRetries: 2, delays: ['1s', '5s', '20s'] },
  // The default poll (1s) and a sweep twice as often as the default (LH_CHAOS_POLL/SWEEP to vary):
  // each look is a scan on FerretDB, and 200ms/1s with three workers kept its CPU busy scanning.
  timeouts: { pollInterval: process.env.LH_CHAOS_POLL ?? '1s', lease: '5s' },
  // Long-lived: the inbox cap covers the ~1,100 messages an account handles within the dedupe
  // window (the default cap, 1,000, would evict ids still inside it: logged, counted, reported).
  sagaOptions: longLived ? { inboxSize: Number(process.env.LH_CHAOS_INBOX ?? '2000') } : undefined,
  outbox: longLived ? LONG_LIVED_OUTBOX : { sweepInterval: process.env.LH_CHAOS_SWEEP ?? '5s', lease: '3s' },
});

// Long-lived: the saga's downstream services (credits, statements) on their own queue, so their
// messages do not wait behind the deposits.
const ledger = longLived
  ? new Endpoint({
      name: LEDGER_ENDPOINT,
      transport,
      handlers: longLivedHandlers,
      concurrency: 8,
      logger,
      recoverability: { immediateRetries: 2, delays: ['1s', '5s', '20s'] },
    })
  : undefined;

await endpoint.start();
await ledger?.start();
process.stdout.write('ready\n');
const reporter = setInterval(() => process.stdout.write(`stats ${JSON.stringify(stats)}\n`), 1000);

process.on('SIGTERM', () => {
  void (async () => {
    clearInterval(reporter);
    await Promise.all([endpoint.stop(), ledger?.stop()]);
    process.stdout.write(`stats ${JSON.stringify(stats)}\n`);
    await endpoint.transport.close();
    await client.close();
    await closeLedger();
    process.exit(0);
  })();
});
