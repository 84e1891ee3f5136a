/**
 * `npm run demo:workflow`: a durable workflow survives the crash of the process running it, with
 * no service to install. Process A starts a four-step order workflow and is killed in the middle
 * of step 3 (no drain, no clean stop). Process B starts on the same broker and database, here the
 * embedded in-memory transport and stores, which play the parts that outlive a process. B replays
 * the workflow from its history: steps 1 and 2 are not run again, step 3 (which never finished) runs
 * again, then step 4, and the workflow completes.
 */
import 'reflect-metadata';
import {
  activity,
  Endpoint,
  InMemorySagaStore,
  InMemoryTimeoutStore,
  InMemoryTransport,
  silentLogger,
  type Transport,
  Workflow,
  type WorkflowContext,
} from '../src/index.js';
import { crashable, type CrashableTransport } from './durability/crashable-transport.js';

/** Which process runs code right now, and how often each step's code ran. */
let processName = 'A';
const runs = new Map<string, number>();
let crashA: (() => void) | undefined;

function step<I, O>(name: string, work: (input: I) => O): ReturnType<typeof activity<I, O>> {
  return activity(`demo.${name}`, (input: I) => {
    runs.set(name, (runs.get(name) ?? 0) + 1);
    console.log(`  [${processName}] ${name} (run ${runs.get(name)})`);
    return work(input);
  });
}

const reserveStock = step('reserve-stock', (order: string) => `reservation-${order}`);
const chargeCard = step('charge-card', (order: string) => `payment-${order}`);
const shipParcel = step('ship-parcel', (order: string): string | Promise<string> => {
  if (processName === 'A') {
    console.log('  [A] ...the process is killed while shipping (kill -9: no drain, no clean stop)');
    crashA?.();
    return new Promise<string>(() => {}); // never returns: this process is gone
  }
  return `parcel-${order}`;
});
const sendReceipt = step('send-receipt', (order: string) => `receipt sent for ${order}`);

@Workflow('demo.OrderWorkflow')
class OrderWorkflow {
  async run(ctx: WorkflowContext, order: string): Promise<string> {
    const reservation = await ctx.activity(reserveStock, order);
    const payment = await ctx.activity(chargeCard, order);
    const parcel = await ctx.activity(shipParcel, order);
    await ctx.activity(sendReceipt, order);
    return `${order}: ${reservation}, ${payment}, ${parcel}`;
  }
}

// What outlives a process: the broker (its queues) and the database (the stores).
const broker = new InMemoryTransport();
const sagaStore = new InMemorySagaStore();
const timeoutStore = new InMemoryTimeoutStore();

function processOn(transport: Transport): Endpoint {
  return new Endpoint({
    name: 'orders',
    workflows: [OrderWorkflow],
    activities: [reserveStock, chargeCard, shipParcel, sendReceipt],
    transport,
    sagaStore,
    timeoutStore,
    logger: silentLogger,
  });
}

console.log('Process A starts and starts workflow order-7');
const transportA: CrashableTransport = crashable(broker);
const a = processOn(transportA);
await a.start();
const crashed = new Promise<void>((resolve) => {
  crashA = () => {
    transportA.crash();
    resolve();
  };
});
await a.workflows.start(OrderWorkflow, 'order-7', { id: 'order-7' });
await crashed;

const status = await a.workflows.status('order-7');
console.log('\nProcess A is gone. What the store holds for order-7:');
console.log(`  status ${status?.status}, ${status?.history.events} history events`);
for (const pending of status?.pending ?? []) console.log(`  waiting for: ${pending.op} ${pending.name}`);
const left = broker.pending('orders').map((m) => m.headers['longhaul.type']);
console.log(`  on the broker, never acknowledged: ${left.join(', ')}`);

console.log('\nProcess B starts on the same broker and store');
processName = 'B';
const b = processOn(broker);
await b.start();
const result = await b.workflows.result<string>('order-7', { timeout: '30s' });
console.log(`\nResult: ${result}`);
console.log('Runs per step across both processes:');
for (const [name, count] of runs) {
  const note =
    count === 1 ? 'once: not repeated after the crash' : `${count} times: the run A never finished, then B's`;
  console.log(`  ${name.padEnd(13)} ${note}`);
}
await b.stop();
await a.stop(); // the dead process's timers (a real crash takes them with it)
