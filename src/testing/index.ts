/**
 * The Longhaul test kit: run sagas and handlers in memory with a virtual clock.
 * @packageDocumentation
 */
export {
  SagaTestKit,
  type SagaTestKitOptions,
  type EmittedMessage,
  type ScheduledTimeout,
} from './saga-test-kit.js';
export { VirtualClock } from '../util/clock.js';
export { InMemoryTransport, type TransportRecord } from '../bus/memory/in-memory-transport.js';
export { InMemorySagaStore } from '../persistence/memory/in-memory-saga-store.js';
export { InMemoryTimeoutStore } from '../timeouts/memory/in-memory-timeout-store.js';
