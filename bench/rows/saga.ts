/**
 * Workload S rows (the workload is defined in `../workload-s.ts`), every one on the same local
 * RabbitMQ and the same FerretDB:
 *
 * - raw limits: `S/raw/broker-<queue type>` (amqplib alone: consume, publish with a confirm, ack,
 *   prefetch = concurrency, for the same 3 N messages) and `S/raw/store-ferretdb` (the driver alone:
 *   one read + one version-checked write per message, 3 per saga). `run.ts` combines them.
 * - Longhaul: in memory (one process, in-memory transport and store), on RabbitMQ with the
 *   in-memory store, on the in-memory transport with FerretDB, on RabbitMQ + FerretDB; per queue type.
 * - @node-ts/bus (`../peers/nodets.ts`): as shipped and with `noDelay`, in-memory and MongoDB
 *   persistence (classic queues only: it declares its queues itself, without a queue type).
 *
 * Rows against FerretDB run `storeN` sagas (fewer: the gated FerretDB does a few hundred writes a
 * second); node-ts as shipped runs `shippedN` (it does ~15 messages/s per worker).
 */
import { MongoSagaStore, silentLogger } from '../../src/index.js';
import { type BenchOptions, type BenchRow } from '../lib.js';
import { type PeerPersistence, type PeerTransport, runNodeTsS } from '../peers/nodets.js';
import { benchTransport, MESSAGES_PER_SAGA, runLonghaulS } from '../workload-s.js';
import { rawRun, withDatabase } from './mongodb.js';
import { runRaw } from './rabbitmq.js';

/** Sizes of workload S per kind of row. */
export interface SagaSizes {
  /** Sagas for rows without FerretDB. */
  readonly n: number;
  /** Sagas for rows on FerretDB. */
  readonly storeN: number;
  /** Sagas for @node-ts/bus as shipped (about 40 ms per message and worker). */
  readonly shippedN: number;
  /** Queue types to run the broker rows with. */
  readonly queueTypes: readonly ('classic' | 'quorum')[];
}

const onFerret = <T>(run: (store: MongoSagaStore) => Promise<T>): Promise<T> =>
  withDatabase((client, database) => run(new MongoSagaStore({ client, database, logger: silentLogger })));

export function sagaRows(options: BenchOptions, sizes: SagaSizes): BenchRow[] {
  const c = options.concurrency;
  const rows: BenchRow[] = [];
  for (const queueType of sizes.queueTypes) {
    rows.push({
      name: `S/raw/broker-${queueType}`,
      description: `amqplib alone, ${queueType} queue: per message consume, publish with confirm, ack (prefetch ${c}); ${MESSAGES_PER_SAGA * sizes.n} messages`,
      run: () => runRaw({ ...options, n: MESSAGES_PER_SAGA * sizes.n, queueType }),
    });
  }
  rows.push({
    name: 'S/raw/store-ferretdb',
    description: `MongoDB driver alone on FerretDB: per message one read + one version-checked write, 3 per saga, ${c} sagas at a time`,
    run: () => rawRun({ ...options, n: sizes.storeN }),
  });
  rows.push({
    name: 'S/longhaul/memory',
    description: 'Longhaul in memory, one process (in-memory transport and store)',
    run: () => runLonghaulS(sizes.n, c),
  });
  for (const queueType of sizes.queueTypes) {
    rows.push({
      name: `S/longhaul/rabbitmq-${queueType}+memory`,
      description: `Longhaul on RabbitMQ (${queueType}) with the in-memory saga store`,
      run: () => runLonghaulS(sizes.n, c, { transport: benchTransport(queueType, c) }),
    });
  }
  rows.push({
    name: 'S/longhaul/memory+ferretdb',
    description: 'Longhaul, in-memory transport + MongoSagaStore on FerretDB (the commit path alone)',
    run: () => onFerret((sagaStore) => runLonghaulS(sizes.storeN, c, { sagaStore })),
  });
  for (const queueType of sizes.queueTypes) {
    rows.push({
      name: `S/longhaul/rabbitmq-${queueType}+ferretdb`,
      description: `Longhaul on RabbitMQ (${queueType}) + MongoSagaStore on FerretDB`,
      run: () =>
        onFerret((sagaStore) =>
          runLonghaulS(sizes.storeN, c, { transport: benchTransport(queueType, c), sagaStore }),
        ),
    });
  }
  const peers: [PeerTransport, PeerPersistence][] = [
    ['shipped', 'memory'],
    ['noDelay', 'memory'],
    ['shipped', 'mongodb'],
    ['noDelay', 'mongodb'],
  ];
  for (const [transport, persistence] of peers) {
    const store = persistence === 'mongodb' ? 'ferretdb' : 'memory';
    const n =
      transport === 'shipped'
        ? Math.min(sizes.shippedN, persistence === 'mongodb' ? sizes.storeN : sizes.n)
        : persistence === 'mongodb'
          ? sizes.storeN
          : sizes.n;
    rows.push({
      name: `S/nodets/${transport === 'shipped' ? 'shipped' : 'nodelay'}+${store}`,
      description: `@node-ts/bus on RabbitMQ (classic), ${transport === 'shipped' ? 'as shipped' : 'noDelay socket'}, ${persistence === 'mongodb' ? 'MongodbPersistence on FerretDB' : 'InMemoryPersistence'}; ${n} sagas. Non-persistent messages, no confirms, no outbox/inbox`,
      run: () => runNodeTsS(n, c, transport, persistence),
    });
  }
  return rows;
}
