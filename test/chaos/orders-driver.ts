/**
 * The `orders` scenario (the default): N order-fulfilment sagas started over the load window, each
 * handling 3 messages; see scenario.ts and docs/reliability.md.
 */
import { settled, snapshot, verdict } from './check.js';
import { persistently, sample } from './faults.js';
import { EFFECTS, type EffectDocument } from './ledger.js';
import { ChargePayment, OrderCompleted, OrderPlaced, ShipOrder, SLOW } from './scenario.js';
import { type DriverSetup, type Poll, type ScenarioDriver, type ScenarioOutcome } from './scenario-driver.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface OrdersOptions {
  sagas: number;
  slowFraction: number;
}

/** The orders scenario's driver. */
export function ordersDriver(setup: DriverSetup, options: OrdersOptions): ScenarioDriver {
  const { bus, db, broker, random, began, loadWindowMs } = setup;
  const N = options.sagas;
  const orders = Array.from({ length: N }, (_, i) =>
    random() < options.slowFraction ? `${SLOW}${i}` : `o-${i}`,
  );
  const placed = new Map<string, number>();

  async function generate(): Promise<void> {
    const tickMs = 100;
    let next = 0;
    for (let tick = 0; next < N; tick++) {
      const due = Math.min(N, Math.ceil(((tick + 1) * tickMs * N) / loadWindowMs));
      const batch = orders.slice(next, due);
      next = due;
      await Promise.all(
        batch.map(async (orderId) => {
          const total = (orderId.length % 97) + 1;
          await persistently(() =>
            bus.publish(new OrderPlaced(orderId, total), { messageId: `placed-${orderId}` }),
          );
          placed.set(orderId, total);
        }),
      );
      const wait = began + (tick + 1) * tickMs - Date.now();
      if (wait > 0) await sleep(wait);
      if (Date.now() - began > loadWindowMs + 10 * 60_000)
        throw new Error('could not start the sagas in time');
    }
  }

  /**
   * Republishes 20 started `OrderPlaced` with their ids, and re-sends 10 each of `ChargePayment`,
   * `ShipOrder` and `OrderCompleted` taken from the ledger, with the id of the original.
   */
  async function duplicates(counts: Record<string, number>): Promise<void> {
    const add = (what: string): void => void (counts[what] = (counts[what] ?? 0) + 1);
    for (const [orderId, total] of sample([...placed], 20, random)) {
      await persistently(() =>
        bus.publish(new OrderPlaced(orderId, total), { messageId: `placed-${orderId}` }),
      );
      add('orderPlaced');
    }
    const effects = db.collection<EffectDocument>(EFFECTS);
    for (const kind of ['charge', 'ship', 'completed'] as const) {
      // No sort: on FerretDB a sorted read decodes the whole (growing) ledger; an unsorted one stops
      // after 300. Re-sending old effects' messages tests the same suppression.
      const applied = await effects.find({ kind }).limit(300).toArray();
      for (const effect of sample(applied, 10, random)) {
        const messageId = effect._id;
        if (kind === 'charge') {
          const total = placed.get(effect.orderId) ?? 1;
          await persistently(() =>
            bus.send(new ChargePayment(effect.orderId, total), { messageId, to: setup.endpoint }),
          );
          add('chargePayment');
        } else if (kind === 'ship') {
          await persistently(() =>
            bus.send(new ShipOrder(effect.orderId), { messageId, to: setup.endpoint }),
          );
          add('shipOrder');
        } else {
          await persistently(() => bus.publish(new OrderCompleted(effect.orderId), { messageId }));
          add('orderCompleted');
        }
      }
    }
  }

  async function poll(): Promise<Poll> {
    const last = await snapshot(db, broker);
    return { settled: settled(last, orders), summary: last };
  }

  async function finish(): Promise<ScenarioOutcome> {
    const result = await verdict(db, broker, orders);
    const { violations, ...rest } = result;
    return {
      violations,
      json: { sagaCount: N, ...rest },
      lines: [
        ['sagas (slow ones time out as designed)', `${N} (${result.sagas.cancelledByTimeout} slow)`],
        ['sagas completed', result.sagas.completed],
        ['effects applied', JSON.stringify(result.effects)],
        [
          'duplicate attempts suppressed by the ledger',
          JSON.stringify(result.duplicateAttemptsSuppressedByLedger),
        ],
        ['EFFECTS LOST', result.effectsLost],
        ['EFFECTS APPLIED TWICE', result.effectsAppliedTwice],
        ['unexpected effects', result.unexpectedEffects],
        ['error queue', result.errorQueue],
        ['outbox entries pending', result.outboxPending],
        ['timeouts undelivered / leaked', `${result.timeoutsUndelivered} / ${result.timeoutsLeaked}`],
        ['messages left in queues', result.messagesLeftInQueues],
      ],
    };
  }

  return {
    describe: () =>
      `${N} sagas (${orders.filter((o) => o.startsWith(SLOW)).length} slow), each handling 3 messages`,
    start: async () => {},
    generate,
    duplicates,
    poll,
    finish,
    stop: async () => {},
  };
}
