import { type InboxEntry } from '../persistence/saga-store.js';

/** How long and how many handled-message ids an instance keeps (see `docs/long-lived-sagas.md`). */
export interface DedupePolicy {
  /** Ids are kept at least this long after they were handled. */
  readonly windowMs: number;
  /** At most this many ids per instance; the oldest go first. */
  readonly cap: number;
}

/**
 * The inbox after handling `id` at `now`: ids handled before `now - windowMs` are dropped (every
 * redelivery path is shorter than the window, so they can no longer come back), the new id is
 * appended, and if more than `cap` remain the oldest are evicted. `evicted` lists those evicted by
 * the cap: all were still inside the window, so a redelivery of one would be handled again.
 */
export function recordHandled(
  inbox: readonly InboxEntry[],
  id: string,
  now: Date,
  policy: DedupePolicy,
): { inbox: InboxEntry[]; evicted: InboxEntry[] } {
  const horizon = now.getTime() - policy.windowMs;
  // The usual case: nothing has aged out (the oldest is inside the window) and there is room.
  if (inbox.length < policy.cap && (inbox.length === 0 || inbox[0]!.at.getTime() >= horizon)) {
    return { inbox: [...inbox, { id, at: now }], evicted: [] };
  }
  const kept = inbox.filter((e) => e.at.getTime() >= horizon);
  kept.push({ id, at: now });
  const excess = Math.max(0, kept.length - policy.cap);
  return { inbox: kept.slice(excess), evicted: kept.slice(0, excess) };
}
