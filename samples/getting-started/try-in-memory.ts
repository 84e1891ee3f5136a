/** The checkout with no service at all: the embedded transport and stores. `npx tsx try-in-memory.ts` */
import 'reflect-metadata';
import { Bus, WorkflowClient } from '../../src/index.js';
import { createCheckout } from './app.js';
import { OrderPlaced } from './messages.js';

const { container, endpoint } = createCheckout();
await endpoint.start();
await container.get(Bus).publish(new OrderPlaced('o-1', 25));
const tracking = await container.get(WorkflowClient).result('ship-o-1', { timeout: '10s' });
console.log(`order o-1: confirmed and shipped, ${tracking}`);
await endpoint.close();
