/**
 * The saga the partitioned multi-process test runs in its workers (partition-worker.ts): it
 * records every sequence number of its key in arrival order, so the test sees duplicates, gaps
 * and messages out of order.
 */
import { Event, Saga, type SagaContext, StartedBy } from '../../../src/index.js';

@Event('mpp.Bump', { partitionKey: (m: PartBump) => m.key })
export class PartBump {
  constructor(
    readonly key: string,
    readonly seq: number,
  ) {}
}

export interface PartTallyState {
  seqs: number[];
}

export const PART_SAGA = 'mpp.Tally';

@Saga(PART_SAGA)
export class PartTally {
  @StartedBy(PartBump, { correlateBy: (m) => m.key, onExisting: 'handle' })
  bump(m: PartBump, ctx: SagaContext<PartTallyState>): void {
    ctx.state = { seqs: [...(ctx.isNew ? [] : ctx.state.seqs), m.seq] };
  }
}
