/** Entities on the in-memory adapters: the sample, one-at-a-time application, errors, delete, sagas. */
import 'reflect-metadata';
import { Container, injectable } from 'inversify';
import { describe, expect, it } from 'vitest';
import {
  Command,
  Endpoint,
  Entity,
  EntityClient,
  type EntityContext,
  EntityOperation,
  Event,
  type HandledMessage,
  InMemorySagaStore,
  InMemoryTimeoutStore,
  InMemoryTransport,
  longhaulModule,
  MessageCodec,
  OperationFailedError,
  OperationsClient,
  replayHistory,
  Saga,
  type SagaContext,
  silentLogger,
  StartedBy,
  WorkflowClient,
} from '../../src/index.js';
import { EntityOperationMessage } from '../../src/entities/messages.js';
import { Counter, CounterLimits, CountVisit, main } from '../../samples/entities/counter-entity.js';
import { untilQuiet } from '../support/endpoint.js';
import { SagaTestKit } from '../../src/testing/index.js';

@Event('entities-test.LimitReached')
class LimitReached {
  constructor(readonly key: string) {}
}

@Entity('Wallet')
@injectable()
class Wallet {
  initialState(): { balance: number } {
    return { balance: 0 };
  }

  @EntityOperation()
  deposit(amount: number, ctx: EntityContext<{ balance: number }>): number {
    ctx.state.balance += amount;
    return ctx.state.balance;
  }

  @EntityOperation()
  withdraw(amount: number, ctx: EntityContext<{ balance: number }>): number {
    ctx.state.balance -= amount;
    ctx.publish(new LimitReached(ctx.key)); // sent only if the operation returns
    if (ctx.state.balance < 0) throw new Error(`insufficient funds: ${ctx.state.balance + amount}`);
    return ctx.state.balance;
  }

  notAnOperation(): string {
    return 'never callable';
  }
}

@Entity('Journal')
@injectable()
class Journal {
  initialState(): { lines: string[] } {
    return { lines: [] };
  }

  @EntityOperation()
  append(line: string, ctx: EntityContext<{ lines: string[] }>): void {
    ctx.state.lines.push(line);
  }
}

@Command('entities-test.OrderPaid')
class OrderPaid {
  constructor(
    readonly orderId: string,
    readonly customer: string,
    readonly amount: number,
  ) {}
}

@Saga('entities-test.Orders')
class Orders {
  @StartedBy(OrderPaid, { correlateBy: (m) => m.orderId })
  async paid(msg: OrderPaid, ctx: SagaContext<object>): Promise<void> {
    await ctx.signalEntity(Wallet, msg.customer, 'deposit', msg.amount);
    ctx.complete();
  }
}

async function setup() {
  const transport = new InMemoryTransport();
  const store = new InMemorySagaStore();
  const handled: HandledMessage[] = [];
  const container = new Container();
  container.bind(CounterLimits).toSelf().inSingletonScope();
  container.load(
    longhaulModule({
      name: 'bank',
      entities: [Wallet, Counter, Journal],
      workflows: [CountVisit],
      sagas: [Orders],
      transport,
      sagaStore: store,
      timeoutStore: new InMemoryTimeoutStore(),
      logger: silentLogger,
      onHandled: (h) => handled.push(h),
    }),
  );
  const endpoint = container.get(Endpoint);
  await endpoint.start();
  return { endpoint, transport, store, handled, entities: container.get(EntityClient), container };
}

describe('entities (in memory)', () => {
  it('runs samples/entities/counter-entity.ts', async () => {
    expect(await main()).toEqual([
      'add 4 -> 10',
      'add 5000 -> RangeError: add takes an integer up to 1000, got 5000',
      'home has 11 visits',
      'home: value 11 after 6 operations',
    ]);
  });

  it('applies concurrent calls one at a time: every caller sees a distinct total', async () => {
    const { entities, endpoint } = await setup();
    const totals = await Promise.all(
      Array.from({ length: 40 }, () => entities.callEntity(Wallet, 'w-1', 'deposit', 1)),
    );
    expect([...totals].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect((await entities.read(Wallet, 'w-1'))?.state).toEqual({ balance: 40 });
    await endpoint.close();
  });

  it('one consuming process applies the operations in the order they were sent', async () => {
    const { entities, transport, endpoint } = await setup();
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i}`);
    for (const line of lines) await entities.signalEntity(Journal, 'j-1', 'append', line);
    await untilQuiet(transport);
    expect((await entities.read<{ lines: string[] }>(Journal, 'j-1'))?.state.lines).toEqual(lines);
    await endpoint.close();
  });

  it('an operation that throws changes nothing, sends nothing, and its error reaches the caller', async () => {
    const { entities, transport, endpoint } = await setup();
    await entities.callEntity(Wallet, 'w-2', 'deposit', 10);
    const error = await entities.callEntity(Wallet, 'w-2', 'withdraw', 25).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperationFailedError);
    expect((error as OperationFailedError).failure.message).toBe('insufficient funds: 10');
    expect(await entities.callEntity(Wallet, 'w-2', 'withdraw', 4)).toBe(6);
    await untilQuiet(transport);
    const published = transport.log.filter(
      (r) => r.message.headers['longhaul.type'] === 'entities-test.LimitReached',
    );
    expect(published).toHaveLength(1);
    const unknown = await entities.callEntity(Wallet, 'w-2', 'notAnOperation').catch((e: unknown) => e);
    expect((unknown as OperationFailedError).failure.code).toBe('unknown-operation');
    expect((await entities.read(Wallet, 'w-2'))?.operations).toBe(4);
    await endpoint.close();
  });

  it('a redelivered operation (same message id) is applied once', async () => {
    const { entities, transport, handled, endpoint } = await setup();
    const codec = new MessageCodec();
    const wire = codec.encode({
      id: 'op-1',
      type: 'longhaul.entity.Operation',
      correlationId: 'op-1',
      conversationId: 'op-1',
      sentAt: new Date(),
      headers: {},
      body: new EntityOperationMessage('Wallet', 'w-3', 'deposit', 5),
    });
    await transport.send(wire, 'bank');
    await transport.send(wire, 'bank');
    await untilQuiet(transport);
    expect((await entities.read(Wallet, 'w-3'))?.state).toEqual({ balance: 5 });
    const outcomes = handled
      .filter((h) => h.envelope.id === 'op-1')
      .flatMap((h) => h.sagas.map((s) => s.result));
    expect(outcomes).toEqual(['committed', 'duplicate']);
    // The same through the client: one operation id, sent twice.
    await entities.signalEntity(Wallet, 'w-3', 'deposit', 1, { operationId: 'retry-me' });
    await entities.signalEntity(Wallet, 'w-3', 'deposit', 1, { operationId: 'retry-me' });
    await untilQuiet(transport);
    expect((await entities.read(Wallet, 'w-3'))?.state).toEqual({ balance: 6 });
    await endpoint.close();
  });

  it('keeps at most resultCap call results per entity: an evicted one can no longer be read', async () => {
    const endpoint = new Endpoint({
      name: 'capped',
      entities: [Wallet],
      entityOptions: { resultCap: 1 },
      logger: silentLogger,
    });
    await endpoint.start();
    const first = await endpoint.entities.callEntity(Wallet, 'w-5', 'deposit', 1, { operationId: 'a' });
    expect(first).toBe(1);
    expect(await endpoint.entities.callEntity(Wallet, 'w-5', 'deposit', 1)).toBe(2);
    // The first call's result was evicted by the second: asking for it again times out.
    const again = endpoint.entities.callEntity(Wallet, 'w-5', 'deposit', 1, {
      operationId: 'a',
      timeout: '50ms',
    });
    await expect(again).rejects.toMatchObject({ code: 'timeout' });
    expect((await endpoint.entities.read(Wallet, 'w-5'))?.state).toEqual({ balance: 2 }); // applied once
    await endpoint.close();
  });

  it('delete: the entity is gone, and the next operation starts from initialState()', async () => {
    const { entities, transport, endpoint } = await setup();
    await entities.callEntity(Wallet, 'w-4', 'deposit', 3);
    await entities.delete(Wallet, 'w-4');
    await untilQuiet(transport);
    expect(await entities.read(Wallet, 'w-4')).toBeUndefined();
    expect(await entities.callEntity(Wallet, 'w-4', 'deposit', 2)).toBe(2);
    await endpoint.close();
  });

  it('sagas signal entities; entities appear in the instance list', async () => {
    const { entities, transport, endpoint, store } = await setup();
    await endpoint.bus.send(new OrderPaid('o-1', 'c-1', 30));
    await endpoint.bus.send(new OrderPaid('o-2', 'c-1', 12));
    await untilQuiet(transport);
    expect((await entities.read(Wallet, 'c-1'))?.state).toEqual({ balance: 42 });
    const ops = new OperationsClient({
      store,
      timeouts: endpoint.timeoutStore,
      workflows: endpoint.workflows,
    });
    const page = await ops.instances.list({ labels: { entityType: 'Wallet', entityKey: 'c-1' } });
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({ kind: 'saga', type: 'longhaul.Entity', status: 'active' });
    expect((await entities.list(Wallet)).items.map((e) => e.key)).toEqual(['c-1']);
    await endpoint.close();
  });

  it('ctx.callEntity is recorded in the workflow history and not sent again on replay', async () => {
    const { endpoint, transport, container } = await setup();
    const workflows = container.get(WorkflowClient);
    await workflows.start(CountVisit, { page: 'docs' }, { id: 'v-1' });
    expect(await workflows.result('v-1')).toBe('docs has 1 visits');
    const history = await workflows.history('v-1');
    const scheduled = history?.events
      .filter((e) => e.e === 'scheduled')
      .map((e) => (e as { name: string }).name);
    expect(scheduled).toEqual(['Counter.add', 'Counter.add']);
    await untilQuiet(transport);
    const sent = transport.log.filter(
      (r) => r.operation === 'send' && r.message.headers['longhaul.type'] === 'longhaul.entity.Operation',
    );
    expect(sent).toHaveLength(2); // one call, one signal: each sent once although run replayed twice
    // The exported history round-trips and replays against the code (a CI replay check).
    const replayed = await replayHistory(CountVisit, JSON.stringify(history));
    expect(replayed.ok).toBe(true);
    await endpoint.close();
  });

  it('runs in the test kit: a saga signals an entity, with the virtual clock', async () => {
    const kit = await SagaTestKit.start({ sagas: [Orders], entities: [Wallet] });
    await kit.when(new OrderPaid('o-9', 'c-9', 15));
    await kit.idle();
    const entities = kit.container.get(EntityClient);
    expect((await entities.read(Wallet, 'c-9'))?.state).toEqual({ balance: 15 });
    expect(await entities.callEntity(Wallet, 'c-9', 'deposit', 5)).toBe(20);
    await kit.stop();
  });
});
