import { cloneData } from '../../util/clone.js';
import {
  type InstanceAdminStore,
  type InstanceCountRow,
  type InstanceCriteria,
  type StoredAction,
} from '../instance-admin.js';
import { type SagaRecord } from '../saga-store.js';

/**
 * The in-memory {@link InstanceAdminStore}: scans the records of its `InMemorySagaStore` (fine for
 * the few thousand instances a test or a demo holds) and keeps the action log in a list.
 */
export class InMemoryInstanceAdmin implements InstanceAdminStore {
  private readonly log: StoredAction[] = [];

  constructor(private readonly records: () => Iterable<SagaRecord>) {}

  async search(
    anyOf: readonly InstanceCriteria[],
    page: { readonly limit: number; readonly cursor?: string },
  ): Promise<{ records: SagaRecord[]; next?: string }> {
    const found = [...this.records()]
      .filter((r) => matchesAny(r, anyOf) && (page.cursor === undefined || sortKey(r) > page.cursor))
      .sort((a, b) => compare(sortKey(a), sortKey(b)))
      .slice(0, page.limit + 1);
    const records = found.slice(0, page.limit).map((r) => cloneData(r));
    const last = records.at(-1);
    return found.length > page.limit && last ? { records, next: sortKey(last) } : { records };
  }

  async count(anyOf: readonly InstanceCriteria[], labelKeys: readonly string[]): Promise<InstanceCountRow[]> {
    const rows = new Map<string, InstanceCountRow>();
    for (const r of this.records()) {
      if (!matchesAny(r, anyOf)) continue;
      const labels: Record<string, string> = {};
      for (const k of labelKeys) {
        const v = r.labels?.[k];
        if (v !== undefined) labels[k] = v;
      }
      const group = JSON.stringify([r.sagaType, r.status, labelKeys.map((k) => labels[k] ?? null)]);
      const row = rows.get(group);
      rows.set(group, { sagaType: r.sagaType, status: r.status, labels, count: (row?.count ?? 0) + 1 });
    }
    return [...rows.values()];
  }

  async recordAction(action: StoredAction): Promise<void> {
    if (this.log.some((a) => a.id === action.id)) return;
    this.log.push(cloneData(action));
  }

  async actions(sagaType: string, sagaId: string | undefined, limit: number): Promise<StoredAction[]> {
    return this.log
      .filter((a) => a.sagaType === sagaType && (sagaId === undefined || a.sagaId === sagaId))
      .sort((a, b) => b.at.getTime() - a.at.getTime() || compare(b.id, a.id))
      .slice(0, limit)
      .map((a) => cloneData(a));
  }
}

/** Whether a record matches one of the criteria (or there are none). */
export function matchesAny(record: SagaRecord, anyOf: readonly InstanceCriteria[]): boolean {
  return anyOf.length === 0 || anyOf.some((c) => matches(record, c));
}

function matches(r: SagaRecord, c: InstanceCriteria): boolean {
  const time = (d: Date): number => d.getTime();
  if (c.sagaTypes && !c.sagaTypes.includes(r.sagaType)) return false;
  if (c.excludeSagaTypes?.includes(r.sagaType)) return false;
  if (c.status && r.status !== c.status) return false;
  if (c.ids && !c.ids.includes(r.id) && !c.ids.includes(r.correlationKey)) return false;
  for (const [k, v] of Object.entries(c.labels ?? {})) {
    const actual = r.labels?.[k];
    if (actual === undefined || !(typeof v === 'string' ? [v] : v).includes(actual)) return false;
  }
  if (c.createdFrom && time(r.createdAt) < time(c.createdFrom)) return false;
  if (c.createdTo && time(r.createdAt) >= time(c.createdTo)) return false;
  if (c.updatedFrom && time(r.updatedAt) < time(c.updatedFrom)) return false;
  if (c.updatedTo && time(r.updatedAt) >= time(c.updatedTo)) return false;
  if (c.outboxOlderThan) {
    const bound = time(c.outboxOlderThan);
    if (!r.outbox.some((e) => time(e.createdAt) < bound)) return false;
  }
  return true;
}

function sortKey(r: SagaRecord): string {
  return `${r.sagaType}\u0000${r.id}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
