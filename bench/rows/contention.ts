/**
 * Contention rows (CT): many messages to few saga instances on worker processes over RabbitMQ +
 * FerretDB (bench/contention/run.ts), on one shared queue and on a partitioned endpoint with 1, 2
 * and 3 workers. Details: commit conflicts, handler reruns and bumps out of sequence order; a run
 * that miscounted or left messages in a queue is invalid.
 */
import { type BenchRow, type Sample } from '../lib.js';
import { runContention } from '../contention/run.js';

export interface ContentionRowOptions {
  readonly keys: number;
  readonly perKey: number;
  readonly partitions: number;
}

/** The row name of `workers` processes on `partitions` partitions (0: one queue). */
export function contentionRowName(workers: number, partitions: number): string {
  return `CT/${workers}w/${partitions === 0 ? 'one-queue' : `p${partitions}`}`;
}

export function contentionRows(options: ContentionRowOptions): BenchRow[] {
  const configs: [workers: number, partitions: number][] = [
    [3, 0],
    [1, options.partitions],
    [2, options.partitions],
    [3, options.partitions],
  ];
  return configs.map(([workers, partitions]) => ({
    name: contentionRowName(workers, partitions),
    description: `${workers} worker processes, ${partitions === 0 ? 'one shared queue' : `${partitions} partitions`}: ${options.keys} saga instances × ${options.perKey} messages (RabbitMQ + FerretDB)`,
    maxRounds: 1,
    async run(): Promise<Sample> {
      const r = await runContention({ workers, partitions, keys: options.keys, perKey: options.perKey });
      const miscounted = Object.keys(r.miscounted).length;
      return {
        messagesPerSecond: r.perSecond,
        extra: { conflicts: r.conflicts, reruns: r.reruns, outOfOrder: r.outOfOrder },
        ...(miscounted > 0 || r.leftInQueues > 0
          ? { invalid: `${miscounted} instances miscounted, ${r.leftInQueues} messages left in queues` }
          : {}),
      };
    },
  }));
}
