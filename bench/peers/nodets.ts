/**
 * The peer: workload S (see `../workload-s.ts`) written for @node-ts/bus as its docs recommend
 * (bus-core README and workflow README, bus-rabbitmq and bus-mongodb READMEs): message classes
 * extending `Event`/`Command` with a `$name`, a class workflow configured with
 * `mapper.withState(...).startedBy(...).when(..., { lookup, mapsTo })`, a function handler for the
 * command, `Bus.configure().withTransport(...).withPersistence(...).withConcurrency(...)`.
 *
 * Written by us, for the bench; nothing in node_modules is changed. Two variants of its RabbitMQ
 * transport:
 * - `shipped`: as published. Its amqplib connection leaves Nagle's algorithm on, and it reads with
 *   one `basic.get` round trip per message, so each small frame waits for the delayed ACK
 *   (~40 ms on Linux).
 * - `noDelay`: a subclass (here, at runtime) whose `connect()` passes `{ noDelay: true }` as
 *   amqplib's socket options, otherwise identical.
 *
 * What it does not guarantee, unlike Longhaul (reported with its rows): messages are published
 * non-persistent (no `persistent: true`, lost if the broker restarts), on a channel without
 * publisher confirms (a publish the broker dropped is not noticed), and sends made while handling
 * are held in memory until the handler returns, with no outbox stored with the workflow state and
 * no inbox (a redelivered message runs again; a crash between saving the state and publishing
 * loses the messages).
 */
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  Bus,
  type BusInstance,
  InMemoryPersistence,
  type Persistence,
  Workflow,
  type WorkflowMapper,
  WorkflowState,
  WorkflowStatus,
} from '@node-ts/bus-core';
import { Command, Event } from '@node-ts/bus-messages';
import busMongo from '@node-ts/bus-mongodb';
import busRabbitMq from '@node-ts/bus-rabbitmq';
import { MongoClient } from 'mongodb';
import { type Sample } from '../lib.js';
import {
  depthProblems,
  MONGODB_URL,
  queueDepths,
  RABBITMQ_URL,
  SagaTracker,
  windowFor,
} from '../workload-s.js';

const { RabbitMqTransport } = busRabbitMq;
const { MongodbPersistence } = busMongo;

/** The amqplib the peer ships with (its own dependency, not ours). */
const peerAmqp = createRequire(createRequire(import.meta.url).resolve('@node-ts/bus-rabbitmq'))(
  'amqplib',
) as {
  connect(url: string, socketOptions?: { noDelay?: boolean }): Promise<{ createChannel(): Promise<unknown> }>;
};

/** Its RabbitMQ transport with TCP_NODELAY on its socket: `connect()` as shipped, plus the socket option. */
class NoDelayRabbitMqTransport extends RabbitMqTransport {
  override async connect(): Promise<void> {
    const self = this as unknown as {
      configuration: { connectionString: string };
      connection: { createChannel(): Promise<unknown> };
      channel: unknown;
    };
    self.connection = await peerAmqp.connect(self.configuration.connectionString, { noDelay: true });
    self.channel = await self.connection.createChannel();
  }
}

export type PeerTransport = 'shipped' | 'noDelay';
export type PeerPersistence = 'memory' | 'mongodb';

/** Calls `onComplete` once the completed state of a workflow is saved. */
function instrumented<T extends Persistence>(persistence: T, onComplete: (sagaId: string) => void): T {
  const save = persistence.saveWorkflowState.bind(persistence);
  persistence.saveWorkflowState = async (state) => {
    await save(state);
    if (state.$status === WorkflowStatus.Complete)
      onComplete((state as unknown as { sagaId: string }).sagaId);
  };
  return persistence;
}

/**
 * Runs workload S once on @node-ts/bus: one service queue (classic: its transport declares its
 * queues without arguments, so quorum queues are not available), `concurrency` workers.
 */
export async function runNodeTsS(
  n: number,
  concurrency: number,
  transportKind: PeerTransport,
  persistenceKind: PeerPersistence,
): Promise<Sample> {
  const tag = randomUUID().slice(0, 8);
  const names = {
    started: `bench-nodets-${tag}/started`,
    doStep: `bench-nodets-${tag}/do-step`,
    stepDone: `bench-nodets-${tag}/step-done`,
    state: `bench-nodets-${tag}/state`,
  };
  let next = 0;
  const startOne = (): void => {
    if (next >= n) return;
    const sagaId = `s-${next++}`;
    t.produced(sagaId, 'started');
    bus.publish(new Started(sagaId)).catch((error: unknown) => {
      console.error(`bench: node-ts publish of ${sagaId} failed`, error);
    });
  };
  const t = new SagaTracker(n, startOne);

  // Messages, state and workflow as its docs write them (classes per run: unique $names, so its
  // per-message fanout exchanges do not collide with another run's).
  class Started extends Event {
    static readonly NAME = names.started;
    readonly $name = Started.NAME;
    readonly $version = 1;
    constructor(readonly sagaId: string) {
      super();
    }
  }
  class DoStep extends Command {
    static readonly NAME = names.doStep;
    readonly $name = DoStep.NAME;
    readonly $version = 1;
    constructor(readonly sagaId: string) {
      super();
    }
  }
  class StepDone extends Event {
    static readonly NAME = names.stepDone;
    readonly $name = StepDone.NAME;
    readonly $version = 1;
    constructor(readonly sagaId: string) {
      super();
    }
  }
  class BenchState extends WorkflowState {
    static readonly NAME = names.state;
    readonly $name = BenchState.NAME;
    sagaId!: string;
    payload!: string;
  }
  class BenchWorkflow extends Workflow<BenchState> {
    configureWorkflow(mapper: WorkflowMapper<BenchState, BenchWorkflow>): void {
      mapper
        .withState(BenchState)
        .startedBy(Started, 'started')
        .when(StepDone, 'done', { lookup: (m) => m.sagaId, mapsTo: 'sagaId' });
    }

    async started({ sagaId }: Started): Promise<Partial<BenchState>> {
      t.handling(sagaId, 'started');
      t.produced(sagaId, 'command');
      await bus.send(new DoStep(sagaId));
      return { sagaId, payload: 'x'.repeat(64) };
    }

    done({ sagaId }: StepDone): Partial<BenchState> {
      t.handling(sagaId, 'done');
      return this.completeWorkflow();
    }
  }

  const queueName = `bench-nodets-${tag}`;
  const deadLetterQueueName = `${queueName}-dead-letter`;
  const configuration = { queueName, deadLetterQueueName, connectionString: RABBITMQ_URL, maxRetries: 3 };
  const transport =
    transportKind === 'noDelay'
      ? new NoDelayRabbitMqTransport(configuration)
      : new RabbitMqTransport(configuration);
  const database = `lh_bench_nodets_${tag}`;
  const persistence = instrumented(
    persistenceKind === 'mongodb'
      ? new MongodbPersistence({ connection: MONGODB_URL, databaseName: database })
      : new InMemoryPersistence(),
    (sagaId) => t.complete(sagaId),
  );

  const signalsBefore = new Map(
    (['SIGINT', 'SIGTERM'] as const).map((s) => [s, new Set(process.listeners(s))] as const),
  );
  const bus: BusInstance = Bus.configure()
    .withTransport(transport)
    .withPersistence(persistence)
    .withWorkflow(BenchWorkflow)
    .withHandler({
      messageType: DoStep,
      messageHandler: async ({ sagaId }: DoStep) => {
        t.handling(sagaId, 'command');
        t.produced(sagaId, 'done');
        await bus.publish(new StepDone(sagaId));
      },
    })
    .withConcurrency(concurrency)
    .build();
  const problems: string[] = [];
  try {
    await bus.initialize();
    await bus.start();
    t.startedAt = performance.now();
    for (let i = 0; i < Math.min(windowFor(concurrency), n); i++) startOne();
    if (!(await t.finished())) problems.push('not finished within the run limit');
  } finally {
    await bus.dispose().catch(() => undefined);
    // It subscribes to SIGINT/SIGTERM per bus instance; drop ours so runs do not pile them up.
    for (const [signal, before] of signalsBefore) {
      for (const listener of process.listeners(signal))
        if (!before.has(listener)) process.removeListener(signal, listener);
    }
    problems.push(...depthProblems(await queueDepths([queueName, deadLetterQueueName])));
    await cleanUp(
      [queueName, `${queueName}-retry`, deadLetterQueueName],
      [queueName, `${queueName}-retry`, names.started, names.doStep, names.stepDone],
    );
    if (persistenceKind === 'mongodb') {
      const client = new MongoClient(MONGODB_URL);
      await client
        .db(database)
        .dropDatabase()
        .catch(() => undefined);
      await client.close();
    }
  }
  return t.sample(problems, {
    window: windowFor(concurrency),
    transport: transportKind,
    persistence: persistenceKind,
  });
}

async function cleanUp(queues: readonly string[], exchanges: readonly string[]): Promise<void> {
  const connection = await peerAmqp.connect(RABBITMQ_URL);
  const channel = (await connection.createChannel()) as {
    deleteQueue(q: string): Promise<unknown>;
    deleteExchange(e: string): Promise<unknown>;
  };
  for (const queue of queues) await channel.deleteQueue(queue);
  for (const exchange of exchanges) await channel.deleteExchange(exchange);
  await (connection as unknown as { close(): Promise<void> }).close();
}
