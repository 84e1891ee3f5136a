/**
 * The Longhaul test kits: run sagas, handlers and workflows in memory with a virtual clock, and
 * replay recorded workflow histories against the current code.
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
export {
  WorkflowTestKit,
  WorkflowTestHandle,
  type WorkflowTestKitOptions,
  type ActivityDouble,
  type ActivityCall,
  type ResultOptions,
} from './workflow-test-kit.js';
export {
  replayHistory,
  type HistoryReplayOptions,
  type HistoryReplayResult,
  type ReplayDivergence,
  type ReplayOperation,
  type ReplayEnding,
} from '../workflows/replay-check.js';
export {
  parseHistory,
  HistoryFormatError,
  HISTORY_FORMAT,
  type WorkflowHistory,
  type ExportedHistoryEvent,
} from '../workflows/history-export.js';
