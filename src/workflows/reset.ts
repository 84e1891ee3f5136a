/**
 * `client.reset`: rewinds a history to just after one of its events. What follows is dropped and
 * runs again on the next replay; signals received in the dropped part are kept (as buffered
 * signals, in order) so a reset never loses an input; operations left without an outcome are
 * dropped too, so they are scheduled again rather than waiting for a result the reset makes stale.
 */
import { type HistoryEvent, HistoryIndex, type OperationRecord } from './history.js';

/** What {@link rewind} produces. */
export interface Rewound {
  /** The new history (without the reset event, which the caller appends). */
  readonly history: HistoryEvent[];
  /** Operations pending before the reset: their timers and children must be stopped. */
  readonly stop: readonly OperationRecord[];
  /** How many events of the old history are gone. */
  readonly dropped: number;
}

/** Rewinds `history` to just after event `afterEvent` (0 keeps only the start). */
export function rewind(history: readonly HistoryEvent[], afterEvent: number): Rewound {
  const full = new HistoryIndex([...history]);
  const prefix = history.slice(0, afterEvent + 1);
  const kept = new HistoryIndex([...prefix]);
  const unfinished = new Set(kept.pending().map((o) => o.seq));
  const next: HistoryEvent[] = prefix.filter((e) => !(e.e === 'scheduled' && unfinished.has(e.seq)));
  const buffered = new Set(next.flatMap((e) => (e.e === 'signal' ? [e.id] : [])));
  for (const event of history.slice(afterEvent + 1)) {
    if (event.e === 'signal' && !buffered.has(event.id)) {
      next.push(event);
      buffered.add(event.id);
    } else if (event.e === 'completed' && event.signal && !buffered.has(event.signal)) {
      const name = full.operations.get(event.seq)?.name ?? 'unknown';
      next.push({ e: 'signal', id: event.signal, name, payload: event.value, at: event.at });
      buffered.add(event.signal);
    }
  }
  return { history: next, stop: full.pending(), dropped: history.length - prefix.length };
}
