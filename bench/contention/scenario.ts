/**
 * The contention workload (issue 19): many messages to few saga instances. Each `ct.Bump` carries
 * its key and a sequence number per key, published in sequence order; the saga counts the bumps
 * and the ones that arrived out of order (a sequence number other than the last one + 1). The
 * handler counts its own runs in the process, so reruns after commit conflicts show up as runs
 * beyond the messages.
 */
import { Event, type SagaContext, Saga, StartedBy } from '../../src/index.js';

@Event('ct.Bump', { partitionKey: (m: Bump) => m.key })
export class Bump {
  constructor(
    readonly key: string,
    readonly seq: number,
  ) {}
}

export interface CounterState {
  count: number;
  last: number;
  outOfOrder: number;
}

/** Handler runs in this process (a rerun after a conflict counts again). */
export const runs = { count: 0 };

@Saga('ct.Counter')
export class ContentionCounter {
  @StartedBy(Bump, { correlateBy: (m) => m.key, onExisting: 'handle' })
  bump(m: Bump, ctx: SagaContext<CounterState>): void {
    runs.count++;
    const state = ctx.isNew ? { count: 0, last: 0, outOfOrder: 0 } : ctx.state;
    if (m.seq !== state.last + 1) state.outOfOrder++;
    state.last = Math.max(state.last, m.seq);
    state.count++;
    ctx.state = state;
  }
}

export const SAGA_TYPE = 'ct.Counter';
