/**
 * Evolution (issue 14, item 6): messages and saga instances left by an "old deploy" (written here
 * raw, in the shapes and under the names the old code used) handled by the new code. Run on the
 * in-memory stores (test/unit/evolution.test.ts) and on FerretDB (test/integration/mongodb/evolution.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import {
  Command,
  Endpoint,
  Event,
  type Handler,
  HandlerFor,
  Handles,
  Headers,
  InMemoryTransport,
  Message,
  OnTimeout,
  Saga,
  type SagaContext,
  type SagaStore,
  StartedBy,
  type TimeoutStore,
  VirtualClock,
  type WireMessage,
} from '../../src/index.js';
import { sagaInstanceId } from '../../src/util/ids.js';
import { recordingLogger } from './start-semantics.js';
import { wire } from '../conformance/transport.js';
import { untilQuiet } from './endpoint.js';

interface Money {
  value: number;
  currency: string;
}

/** v1 `evo.Placed` {orderId,total} → v2 {+currency} → v3 `evo.OrderPlaced` {orderId, amount}. */
@Event('evo.OrderPlaced', {
  version: 3,
  aliases: ['evo.Placed'],
  upcast: {
    1: (v1: { orderId: string; total: number }) => ({ ...v1, currency: 'EUR' }),
    2: (v2: { orderId: string; total: number; currency: string }) => ({
      orderId: v2.orderId,
      amount: { value: v2.total, currency: v2.currency },
    }),
  },
})
export class OrderPlaced {
  constructor(
    readonly orderId: string,
    readonly amount: Money,
  ) {}
}

/** Renamed from `evo.PaymentReceived`. */
@Event('evo.Paid', { aliases: ['evo.PaymentReceived'] })
export class Paid {
  constructor(readonly orderId: string) {}
}

/** The timeout message: renamed from `evo.Nudge`, whose v1 body was {order}. */
@Message('evo.Reminder', {
  version: 2,
  aliases: ['evo.Nudge'],
  upcast: { 1: (v1: { order: string }) => ({ orderId: v1.order }) },
})
export class Reminder {
  constructor(readonly orderId: string) {}
}

/** Version 2 with no upcaster: a version-1 body cannot be read. */
@Command('evo.Strict', { version: 2 })
export class Strict {
  constructor(readonly id: string) {}
}

/** An upcaster that throws. */
@Command('evo.Fragile', {
  version: 2,
  upcast: {
    1: () => {
      throw new Error('boom');
    },
  },
})
export class Fragile {
  constructor(readonly id: string) {}
}

@HandlerFor(Strict, Fragile)
export class Sink implements Handler<Strict | Fragile> {
  handle(): void {}
}

/** State v1 (old code, saga `evo.Invoicing`): {order, total}. v2: below. */
export interface BillingState {
  orderId: string;
  due: Money;
  paid: boolean;
  reminders: number;
}

/** Every body the saga saw, to check its class and shape. */
export const seen: object[] = [];

@Saga('evo.Billing', {
  aliases: ['evo.Invoicing'],
  stateVersion: 2,
  upcastState: {
    1: (s: { order: string; total: number }) => ({
      orderId: s.order,
      due: { value: s.total, currency: 'EUR' },
      paid: false,
      reminders: 0,
    }),
  },
})
export class Billing {
  @StartedBy(OrderPlaced, { correlateBy: (m) => m.orderId })
  async placed(m: OrderPlaced, ctx: SagaContext<BillingState>): Promise<void> {
    seen.push(m);
    ctx.state = { orderId: m.orderId, due: m.amount, paid: false, reminders: 0 };
    await ctx.requestTimeout(new Reminder(m.orderId), { after: '1d' });
  }

  @Handles(Paid, { correlateBy: (m) => m.orderId })
  async paid(m: Paid, ctx: SagaContext<BillingState>): Promise<void> {
    seen.push(m);
    ctx.state.paid = true;
    await ctx.cancelTimeout(Reminder);
  }

  @OnTimeout(Reminder)
  reminded(m: Reminder, ctx: SagaContext<BillingState>): void {
    seen.push(m);
    ctx.state.reminders++;
  }
}

/** A wire message as the old code wrote it: any type name, any body, no version header unless given. */
export function oldWire(type: string, body: object, headers: Record<string, string> = {}): WireMessage {
  return wire(type, body, { [Headers.sentAt]: '2026-01-01T00:00:00.000Z', ...headers });
}

/** An instance as the old code stored it: saga `evo.Invoicing`, state v1, no stateVersion. */
export async function storeOldInstance(
  store: SagaStore,
  orderId: string,
  extra: {
    timeouts?: { id: string; type: string; dueAt: Date }[];
    stateVersion?: number;
    sagaType?: string;
  } = {},
): Promise<string> {
  const sagaType = extra.sagaType ?? 'evo.Invoicing';
  const id = sagaInstanceId(sagaType, orderId);
  const at = new Date('2026-01-01T00:00:00Z');
  await store.commit({
    expectedVersion: 0,
    newOutbox: [],
    record: {
      sagaType,
      id,
      correlationKey: orderId,
      version: 1,
      status: 'active',
      state: { order: orderId, total: 7 },
      inbox: [],
      timeouts: extra.timeouts ?? [],
      createdAt: at,
      updatedAt: at,
      ...(extra.stateVersion !== undefined ? { stateVersion: extra.stateVersion } : {}),
    },
  });
  return id;
}

/** Runs the scenario on stores made by `stores()`; `cleanup` stops the endpoint. */
export async function runEvolution(
  stores: { sagaStore: SagaStore; timeoutStore: TimeoutStore },
  cleanup: (endpoint: Endpoint) => Promise<void>,
): Promise<void> {
  const { sagaStore, timeoutStore } = stores;
  const clock = new VirtualClock(new Date('2026-06-01T00:00:00Z'));
  const transport = new InMemoryTransport(clock);
  const logger = recordingLogger();
  const name = `evo-${randomUUID().slice(0, 8)}`;
  const endpoint = new Endpoint({
    name,
    sagas: [Billing],
    handlers: [Sink],
    transport,
    sagaStore,
    timeoutStore,
    clock,
    logger,
    timeouts: { pollInterval: Infinity },
    outbox: { sweepInterval: Infinity, lease: '1s' },
    recoverability: { immediateRetries: 0, delays: [] },
  });
  const idle = (): Promise<void> => untilQuiet(transport);
  const find = (type: string, key: string) => sagaStore.findByCorrelation(type, key);
  const reasons = (): string[] => transport.errors(name).map((m) => m.headers[Headers.errorReason] ?? '');
  seen.length = 0;

  // The old deploy left: an instance under the saga's former name with a v1 state and a pending
  // v1 timeout under the timeout message's former name, stored in the timeout store...
  const o3 = await storeOldInstance(sagaStore, 'o3', {
    timeouts: [{ id: 't-o3', type: 'evo.Nudge', dueAt: new Date('2026-06-01T00:00:30Z') }],
  });
  const nudge = oldWire(
    'evo.Nudge',
    { order: 'o3' },
    { [Headers.sagaType]: 'evo.Invoicing', [Headers.sagaId]: o3 },
  );
  await timeoutStore.schedule({
    id: 't-o3',
    dueAt: new Date('2026-06-01T00:00:30Z'),
    destination: name,
    message: { messageId: 't-o3', headers: nudge.headers, body: nudge.body.toString() },
    sagaType: 'evo.Invoicing',
    sagaId: o3,
  });
  // ...an instance whose outbox still holds a v1 event under its former name...
  const at = new Date('2026-01-01T00:00:00Z');
  const o4 = sagaInstanceId('evo.Invoicing', 'o4');
  const placedO5 = oldWire('evo.Placed', { orderId: 'o5', total: 5 });
  await sagaStore.commit({
    expectedVersion: 0,
    newOutbox: [
      {
        id: placedO5.messageId,
        operation: 'publish',
        message: { messageId: placedO5.messageId, headers: placedO5.headers, body: placedO5.body.toString() },
        sourceMessageId: 'old-source',
        createdAt: at,
      },
    ],
    record: {
      sagaType: 'evo.Invoicing',
      id: o4,
      correlationKey: 'o4',
      version: 1,
      status: 'active',
      state: { order: 'o4', total: 4 },
      inbox: [{ id: 'old-source', at }],
      timeouts: [],
      createdAt: at,
      updatedAt: at,
    },
  });
  // ...and a v1 event in the error queue (it failed under the old deploy).
  await transport.declareEndpoint({ name, subscriptions: [] });
  (transport.errors(name) as WireMessage[]).push(oldWire('evo.Placed', { orderId: 'o6', total: 6 }));

  // The new deploy.
  await endpoint.start();

  // Queue: a v1 body under the former name, a v2 body, both upcast to v3 instances of the class.
  await transport.send(oldWire('evo.Placed', { orderId: 'o1', total: 10 }), name);
  await transport.send(
    oldWire('evo.OrderPlaced', { orderId: 'o2', total: 20, currency: 'USD' }, { [Headers.version]: '2' }),
    name,
  );
  await idle();
  // (handled concurrently: in either order)
  expect(seen).toHaveLength(2);
  expect(seen).toEqual(
    expect.arrayContaining([
      new OrderPlaced('o1', { value: 10, currency: 'EUR' }),
      new OrderPlaced('o2', { value: 20, currency: 'USD' }),
    ]),
  );
  expect(seen.every((m) => m instanceof OrderPlaced)).toBe(true);
  expect(await find('evo.Billing', 'o1')).toMatchObject({ stateVersion: 2, state: { due: { value: 10 } } });
  // New messages carry the current name and version.
  await endpoint.bus.publish(new OrderPlaced('o9', { value: 1, currency: 'EUR' }));
  await idle();
  const sent = transport.log.filter((r) => r.message.headers[Headers.type] === 'evo.OrderPlaced').at(-1);
  expect(sent?.message.headers[Headers.version]).toBe('3');

  // Timeout store: the v1 timeout under its former name returns to the instance stored under the
  // saga's former name; its state is upcast on load and written back with its version.
  await clock.advance('1m');
  await endpoint.deliverDueTimeouts(); // unless the clock's advance already had the scheduler do it
  await idle();
  expect(seen.at(-1)).toEqual(new Reminder('o3'));
  const afterTimeout = await find('evo.Invoicing', 'o3');
  expect(afterTimeout).toMatchObject({
    sagaType: 'evo.Invoicing',
    id: o3,
    version: 2,
    stateVersion: 2,
    state: { orderId: 'o3', due: { value: 7, currency: 'EUR' }, paid: false, reminders: 1 },
    timeouts: [],
  });
  // An event published under its former name reaches the endpoint (subscribed to both names).
  await transport.publish(oldWire('evo.PaymentReceived', { orderId: 'o3' }));
  await idle();
  expect((await find('evo.Invoicing', 'o3'))?.state).toMatchObject({ paid: true, reminders: 1 });
  // A start for that key finds the instance under the former name: no second instance.
  await transport.send(oldWire('evo.Placed', { orderId: 'o3', total: 99 }), name);
  await idle();
  expect(await find('evo.Billing', 'o3')).toBeUndefined();
  expect(logger.lines.some((l) => l.includes("onExisting: 'ignore'") && l.includes(o3))).toBe(true);

  // A pending timeout recorded under the message's former name is cancelled by its new class.
  const o10 = await storeOldInstance(sagaStore, 'o10', {
    timeouts: [{ id: 't-o10', type: 'evo.Nudge', dueAt: new Date('2026-07-01T00:00:00Z') }],
  });
  const nudge10 = oldWire(
    'evo.Nudge',
    { order: 'o10' },
    { [Headers.sagaType]: 'evo.Invoicing', [Headers.sagaId]: o10 },
  );
  await timeoutStore.schedule({
    id: 't-o10',
    dueAt: new Date('2026-07-01T00:00:00Z'),
    destination: name,
    message: { messageId: 't-o10', headers: nudge10.headers, body: nudge10.body.toString() },
    sagaType: 'evo.Invoicing',
    sagaId: o10,
  });
  await transport.send(oldWire('evo.Paid', { orderId: 'o10' }), name);
  await idle();
  expect(await find('evo.Invoicing', 'o10')).toMatchObject({ state: { paid: true }, timeouts: [] });
  expect(await timeoutStore.listBySaga('evo.Invoicing', o10)).toEqual([]);

  // Outbox: the sweeper publishes the stored v1 event; it is upcast on arrival.
  await clock.advance('1m');
  await endpoint.sweepOutbox();
  await idle();
  expect(await find('evo.Billing', 'o5')).toMatchObject({ state: { due: { value: 5, currency: 'EUR' } } });

  // Error queue: the v1 event replayed is read by the new code.
  expect(transport.replayErrors(name)).toBe(1);
  await idle();
  expect(await find('evo.Billing', 'o6')).toMatchObject({ state: { due: { value: 6, currency: 'EUR' } } });

  // What the new code cannot read goes to the error queue with the reason, nothing applied.
  await transport.send(
    oldWire(
      'evo.OrderPlaced',
      { orderId: 'o7', amount: { value: 1, currency: 'EUR' } },
      { [Headers.version]: '4' },
    ),
    name,
  );
  await transport.send(oldWire('evo.Strict', { id: 's' }), name);
  await transport.send(oldWire('evo.Fragile', { id: 'f' }, { [Headers.version]: '1' }), name);
  await storeOldInstance(sagaStore, 'o8', { sagaType: 'evo.Billing', stateVersion: 3 });
  await transport.send(oldWire('evo.Paid', { orderId: 'o8' }), name);
  await idle();
  expect(reasons()).toEqual([
    'decode/unsupported-version',
    'decode/unsupported-version',
    'decode/upcast-failed',
    'state-version-unsupported',
  ]);
  expect(transport.errors(name)[0]?.headers[Headers.errorMessage]).toMatch(
    /version 4 is newer than this code's version 3/,
  );
  expect(await find('evo.Billing', 'o7')).toBeUndefined();
  expect((await find('evo.Billing', 'o8'))?.version).toBe(1);
  await cleanup(endpoint);
}
