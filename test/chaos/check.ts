/**
 * Quiescence and the final verdict of a chaos run: what the saga store, the timeout store, the
 * effect ledger and the broker's queues say once the system has settled.
 */
import { type Db } from 'mongodb';
import { type ChaosBroker } from './cluster.js';
import {
  EFFECTS,
  type EffectDocument,
  type EffectKind,
  SUPPRESSED,
  type SuppressedDocument,
} from './ledger.js';
import { SLOW } from './scenario.js';

const SAGA_TYPE = 'chaos.OrderFulfilment';

/** The effects each order must end with exactly once. */
export function expectedEffects(orderId: string): EffectKind[] {
  return orderId.startsWith(SLOW) ? ['cancelled'] : ['charge', 'ship', 'completed'];
}

export interface Snapshot {
  queued: number;
  errorQueue: number;
  /** The store's counts, read only once the queues are empty (on FerretDB each count is a scan). */
  store?: {
    sagas: number;
    activeSagas: number;
    effects: number;
    outboxPending: number;
    timeoutsLeft: number;
  };
}

/** The queues' depths, and the store's counts when the queues are empty; polled until the run settles. */
export async function snapshot(db: Db, broker: ChaosBroker): Promise<Snapshot> {
  const depths = await broker.queueDepths();
  const errorQueue = Object.entries(depths)
    .filter(([name]) => name.endsWith('.error'))
    .reduce((sum, [, n]) => sum + n, 0);
  const queued = Object.values(depths).reduce((sum, n) => sum + n, 0) - errorQueue;
  if (queued > 0) return { queued, errorQueue };
  const sagas = db.collection('longhaul_sagas');
  return {
    queued,
    errorQueue,
    store: {
      sagas: await sagas.countDocuments({ sagaType: SAGA_TYPE }),
      activeSagas: await sagas.countDocuments({ sagaType: SAGA_TYPE, status: 'active' }),
      effects: await db.collection(EFFECTS).countDocuments({}),
      outboxPending: await sagas.countDocuments({ outboxSince: { $exists: true } }),
      timeoutsLeft: await db.collection('longhaul_timeouts').countDocuments({}),
    },
  };
}

export function settled(s: Snapshot, orders: readonly string[]): boolean {
  const effects = orders.reduce((sum, id) => sum + expectedEffects(id).length, 0);
  return (
    s.queued === 0 &&
    s.store !== undefined &&
    s.store.sagas >= orders.length &&
    s.store.activeSagas === 0 &&
    s.store.effects >= effects &&
    s.store.outboxPending === 0 &&
    s.store.timeoutsLeft === 0
  );
}

export interface Verdict {
  sagas: { expected: number; found: number; completed: number; cancelledByTimeout: number };
  effects: Record<string, number>;
  effectsLost: number;
  effectsAppliedTwice: number;
  unexpectedEffects: number;
  duplicateAttemptsSuppressedByLedger: Record<string, number>;
  outboxPending: number;
  timeoutsUndelivered: number;
  timeoutsLeaked: number;
  errorQueue: number;
  messagesLeftInQueues: number;
  violations: string[];
}

/** The full check: every order's effects exactly once, nothing pending anywhere. */
export async function verdict(db: Db, broker: ChaosBroker, orders: readonly string[]): Promise<Verdict> {
  const violations: string[] = [];
  const now = new Date();
  const sagaDocs = await db
    .collection('longhaul_sagas')
    .find({ sagaType: SAGA_TYPE }, { projection: { correlationKey: 1, status: 1, outbox: 1 } })
    .toArray();
  const byId = new Map(sagaDocs.map((d) => [String(d.correlationKey), d]));
  const effects = await db.collection<EffectDocument>(EFFECTS).find({}).toArray();
  const applied = new Map<string, EffectDocument[]>();
  for (const e of effects) {
    const key = `${e.orderId}\u0000${e.kind}`;
    applied.set(key, [...(applied.get(key) ?? []), e]);
  }
  const count: Record<string, number> = { charge: 0, ship: 0, completed: 0, cancelled: 0 };
  for (const e of effects) count[e.kind] = (count[e.kind] ?? 0) + 1;
  let lost = 0;
  let twice = 0;
  let completed = 0;
  let missing = 0;
  const examples: string[] = [];
  const expectedKeys = new Set<string>();
  for (const orderId of orders) {
    const doc = byId.get(orderId);
    if (!doc) missing++;
    else if (doc.status === 'completed') completed++;
    for (const kind of expectedEffects(orderId)) {
      const key = `${orderId}\u0000${kind}`;
      expectedKeys.add(key);
      const n = applied.get(key)?.length ?? 0;
      if (n === 0) {
        lost++;
        if (examples.length < 5) examples.push(`lost ${kind} of ${orderId}`);
      }
      if (n > 1) {
        twice += n - 1;
        if (examples.length < 5) examples.push(`${kind} of ${orderId} applied ${n} times`);
      }
    }
  }
  const unexpected = [...applied.keys()].filter((key) => !expectedKeys.has(key)).length;
  const outboxPending = sagaDocs.filter(
    (d) => d.outbox && typeof d.outbox === 'object' && Object.keys(d.outbox as object).length > 0,
  ).length;
  const timeouts = await db
    .collection('longhaul_timeouts')
    .find({}, { projection: { dueAt: 1 } })
    .toArray();
  const undelivered = timeouts.filter((t) => (t.dueAt as Date) <= now).length;
  const leaked = timeouts.length - undelivered;
  const suppressed: Record<string, number> = {};
  for (const s of await db.collection<SuppressedDocument>(SUPPRESSED).find({}).toArray())
    suppressed[s._id] = s.count;
  const depths = await broker.queueDepths();
  const errorQueue = Object.entries(depths)
    .filter(([name]) => name.endsWith('.error'))
    .reduce((sum, [, n]) => sum + n, 0);
  const left = Object.values(depths).reduce((sum, n) => sum + n, 0) - errorQueue;

  if (missing > 0) violations.push(`${missing} saga(s) never started`);
  if (completed < orders.length - missing)
    violations.push(`${orders.length - missing - completed} saga(s) not completed`);
  if (lost > 0) violations.push(`${lost} effect(s) lost`);
  if (twice > 0) violations.push(`${twice} effect(s) applied twice`);
  if (unexpected > 0) violations.push(`${unexpected} unexpected effect(s)`);
  if (outboxPending > 0) violations.push(`${outboxPending} saga(s) with outbox entries pending`);
  if (undelivered > 0) violations.push(`${undelivered} due timeout(s) never delivered`);
  if (leaked > 0) violations.push(`${leaked} future timeout(s) left behind (not cancelled)`);
  if (errorQueue > 0) violations.push(`${errorQueue} message(s) in the error queue`);
  if (left > 0) violations.push(`${left} message(s) left in queues`);
  if (violations.length > 0) violations.push(...examples.map((e) => `  e.g. ${e}`));
  return {
    sagas: { expected: orders.length, found: byId.size, completed, cancelledByTimeout: count.cancelled ?? 0 },
    effects: count,
    effectsLost: lost,
    effectsAppliedTwice: twice,
    unexpectedEffects: unexpected,
    duplicateAttemptsSuppressedByLedger: suppressed,
    outboxPending,
    timeoutsUndelivered: undelivered,
    timeoutsLeaked: leaked,
    errorQueue,
    messagesLeftInQueues: left,
    violations,
  };
}
