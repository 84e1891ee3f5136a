/**
 * Partitioned endpoints without a broker: the partition key a message gets, the hash and the fair
 * share, the options' validation, and two endpoints on the in-memory transport sharing partitions.
 */
import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  Endpoint,
  type EndpointOptions,
  Event,
  InMemorySagaStore,
  InMemoryTransport,
  Saga,
  type SagaContext,
  StartedBy,
  silentLogger,
} from '../../src/index.js';
import { partitionOfKey } from '../../src/messages/partition-key.js';
import { fairShare } from '../../src/endpoint/partitioned-consumer.js';
import { sagaInstanceId } from '../../src/util/ids.js';

@Event('pt.Keyed', { partitionKey: (m: Keyed) => m.account })
class Keyed {
  constructor(readonly account: string) {}
}

@Event('pt.Step')
class Step {
  constructor(
    readonly key: string,
    readonly seq: number,
  ) {}
}

@Event('pt.Loose')
class Loose {}

@Event('pt.Tick')
class Tick {}

/** Handled one key at a time? Records the order and the most handlings of one key at once. */
const seen = { order: new Map<string, number[]>(), running: new Map<string, number>(), overlap: 0 };

@Saga('pt.Sequence')
class Sequence {
  @StartedBy(Step, { correlateBy: (m) => m.key, onExisting: 'handle' })
  async step(m: Step, ctx: SagaContext<{ count: number }>): Promise<void> {
    const running = (seen.running.get(m.key) ?? 0) + 1;
    seen.running.set(m.key, running);
    seen.overlap = Math.max(seen.overlap, running);
    await new Promise((resolve) => setTimeout(resolve, 1));
    seen.order.set(m.key, [...(seen.order.get(m.key) ?? []), m.seq]);
    ctx.state = { count: (ctx.isNew ? 0 : ctx.state.count) + 1 };
    seen.running.set(m.key, running - 1);
    if (m.seq === 1) await ctx.requestTimeout(new Tick(), { after: '1h' });
  }
}

const headersOf = (transport: InMemoryTransport, type: string): Record<string, string>[] =>
  transport.log.filter((r) => r.message.headers['longhaul.type'] === type).map((r) => r.message.headers);

describe('partition keys', () => {
  it('come from the message type, else the handling saga, else the message id', async () => {
    const transport = new InMemoryTransport();
    const endpoint = new Endpoint({ name: 'pt-keys', transport, logger: silentLogger, sagas: [Sequence] });
    await endpoint.start();
    await endpoint.bus.publish(new Keyed('acc-7'));
    await endpoint.bus.publish(new Step('k-1', 1));
    const looseId = await endpoint.bus.publish(new Loose());
    await transport.whenIdle();
    expect(headersOf(transport, 'pt.Keyed')[0]?.['longhaul.partition-key']).toBe('acc-7');
    expect(headersOf(transport, 'pt.Step')[0]?.['longhaul.partition-key']).toBe('k-1');
    expect(headersOf(transport, 'pt.Loose')[0]?.['longhaul.partition-key']).toBe(looseId);
    // The timeout the saga asked for carries the instance's correlation value.
    const [timeout] = await endpoint.timeoutStore.listBySaga(
      'pt.Sequence',
      sagaInstanceId('pt.Sequence', 'k-1'),
    );
    expect(timeout?.message.headers['longhaul.partition-key']).toBe('k-1');
    await endpoint.stop();
  });

  it('hash to a stable partition and spread over all of them', () => {
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 8000; i++) counts[partitionOfKey(`order-${i}`, 8)]!++;
    expect(Math.min(...counts)).toBeGreaterThan(800);
    expect(partitionOfKey('order-1', 8)).toBe(partitionOfKey('order-1', 8));
  });

  it('give each live member its fair share: partition p to the member at p mod K', () => {
    const members = ['a', 'b', 'c'];
    expect(members.map((m) => fairShare(members, m, 6))).toEqual([
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    expect(fairShare(['a', 'b'], 'b', 3)).toEqual([1]);
    expect(fairShare(['a'], 'z', 3)).toEqual([]);
  });
});

describe('partition options', () => {
  const refused = async (options: Partial<EndpointOptions>): Promise<ConfigurationError> => {
    const endpoint = new Endpoint({ name: 'pt-opts', logger: silentLogger, sagas: [Sequence], ...options });
    const error = await endpoint.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    await endpoint.stop();
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  };

  it('refuse bad values naming the field, and endpoint names that end like a partition queue', async () => {
    for (const partitions of [0, -1, 1.5, '4']) {
      expect((await refused({ partitions: partitions as number })).field).toBe('partitions');
    }
    for (const partitionLease of ['soon', 0, 100]) {
      expect((await refused({ partitions: 2, partitionLease })).field).toBe('partitionLease');
    }
    expect((await refused({ partitionLeases: {} as never })).field).toBe('partitionLeases');
    expect((await refused({ name: 'orders.p3' })).field).toBe('name');
  });
});

describe('a partitioned endpoint on the in-memory transport', () => {
  it('shares its partitions between two endpoints and handles one key in order, one at a time', async () => {
    const transport = new InMemoryTransport();
    const sagaStore = new InMemorySagaStore();
    const options = {
      name: 'pt-mem',
      transport,
      sagaStore,
      logger: silentLogger,
      sagas: [Sequence],
      partitions: 4,
      partitionLease: '1s',
    };
    const first = new Endpoint(options);
    await first.start();
    expect([...first.partitions].sort()).toEqual([0, 1, 2, 3]);
    const second = new Endpoint(options);
    await second.start();
    // The first hands two partitions over on its next round (a third of the lease).
    const deadline = Date.now() + 5000;
    while (second.partitions.size < 2 || first.partitions.size > 2) {
      if (Date.now() > deadline)
        throw new Error(`not shared: ${[...first.partitions]} / ${[...second.partitions]}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect([...first.partitions, ...second.partitions].sort()).toEqual([0, 1, 2, 3]);
    const keys = ['a', 'b', 'c', 'd', 'e'];
    for (let seq = 1; seq <= 30; seq++) {
      await Promise.all(keys.map((key) => first.bus.publish(new Step(`mem-${key}`, seq))));
    }
    await transport.whenIdle();
    for (const key of keys) {
      expect(seen.order.get(`mem-${key}`)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    }
    expect(seen.overlap).toBe(1);
    expect(first.counters.sagaCommitConflicts + second.counters.sagaCommitConflicts).toBe(0);
    await first.stop();
    await second.stop();
    expect(first.partitions.size + second.partitions.size).toBe(0);
  });
});
