/**
 * `npm run demo`: the order-fulfilment sample on the embedded in-memory transport and stores, on a
 * virtual clock. Order o-1 is paid and shipped; order slow-2 is never paid and its 15-minute
 * payment-overdue timeout cancels it when the clock moves forward.
 *
 * `npm run demo -- --console [--port <n>]`: then keeps running with the operations console on
 * http://127.0.0.1:8240/ over the same in-memory stores, with one more order left open, a workflow
 * waiting for a signal and one message in the error queue to click through. Ctrl-C stops it.
 */
import 'reflect-metadata';
import {
  Bus,
  type HandledMessage,
  Headers,
  InMemoryTransport,
  silentLogger,
  VirtualClock,
} from '../src/index.js';
import { demoConsoleWiring, openDemoConsole } from './demo-console.js';
import { OrderPlaced } from './order-fulfilment/messages.js';
import { createShop } from './order-fulfilment/setup.js';

const clock = new VirtualClock(new Date('2026-11-23T09:00:00Z'));
const transport = new InMemoryTransport(clock);
const time = (): string => clock.now().toISOString().slice(11, 19);
const body = (buffer: Buffer): string => buffer.toString('utf8');

transport.onRecord((record) => {
  if (record.operation !== 'publish' && record.operation !== 'send') return;
  const type = record.message.headers[Headers.type];
  const where = record.operation === 'send' ? ` → ${record.endpoints.join(',')}` : '';
  console.log(`${time()}  ${record.operation.padEnd(7)} ${type}${where} ${body(record.message.body)}`);
});

const onHandled = (handled: HandledMessage): void => {
  for (const saga of handled.sagas) {
    if (saga.result !== 'committed') {
      console.log(`${time()}    ${saga.saga}: ${saga.result} (${handled.envelope.type})`);
      continue;
    }
    const after = saga.completed ? 'completed' : JSON.stringify(saga.stateAfter);
    console.log(`${time()}    ${saga.saga} state ${JSON.stringify(saga.stateBefore ?? null)} ⇒ ${after}`);
  }
};

const { container, endpoint } = createShop({
  transport,
  clock,
  logger: silentLogger,
  onHandled,
  timeouts: { pollInterval: Infinity },
  outbox: { sweepInterval: Infinity },
  ...(process.argv.includes('--console') ? demoConsoleWiring : {}),
});
await endpoint.start();
const bus = container.get(Bus);

console.log('— Order o-1: placed, paid, shipped');
await bus.publish(new OrderPlaced('o-1', 42));
await until();

console.log('\n— Order slow-2: placed, the payment never arrives');
await bus.publish(new OrderPlaced('slow-2', 99));
await until();

console.log('\n— Moving the virtual clock forward 15 minutes');
await clock.advance('15m');
await until();

if (process.argv.includes('--console')) {
  await openDemoConsole({ endpoint, transport, clock, bus, settle: until, argv: process.argv.slice(2) });
}
await endpoint.stop();
console.log(`\nDone at ${time()} (virtual). Error queue: ${transport.errors('shop').length} message(s).`);

async function until(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await transport.whenIdle();
    await new Promise((resolve) => setImmediate(resolve));
  }
}
