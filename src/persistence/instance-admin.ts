/**
 * # The instance admin port
 *
 * What operators need from a saga store beyond the commit path: search across every saga and
 * workflow type, counts, and a log of the actions taken on instances. Reached as
 * {@link SagaStore.admin}; implemented by the in-memory and the MongoDB store.
 *
 * Guarantees:
 * - **Search is a snapshot in a stable order.** {@link InstanceAdminStore.search} returns
 *   instances matching any one of the criteria in an order of the store's (in memory: stored
 *   type, then id; MongoDB: a hash bucket of the id, then the id), from the opaque cursor of the
 *   previous page on. An instance inserted behind the cursor is not seen by later pages; one
 *   changed while paging is seen at most once. A page may hold fewer than `limit` instances and
 *   still have a `next` (the MongoDB store bounds the time one call spends).
 * - **Counts** group the matching instances by stored type, status and the label keys asked for.
 * - **Actions are appended, never changed**, and kept apart from the instance document, so
 *   recording one never conflicts with a commit and survives the instance's deletion (a purge).
 *
 * Non-goals: queries on state fields, sorting by a field the caller picks, exact counts under
 * concurrent writes.
 */
import { type SagaRecord } from './saga-store.js';

/** One set of conditions; every given one must hold. */
export interface InstanceCriteria {
  /** Stored saga types to include (`longhaul.Workflow` for workflows). @defaultValue all */
  readonly sagaTypes?: readonly string[];
  /** Stored saga types to leave out. @defaultValue none */
  readonly excludeSagaTypes?: readonly string[];
  /** The record's status. @defaultValue both */
  readonly status?: 'active' | 'completed';
  /** Each label must equal the value, or one of the values when given several. */
  readonly labels?: Readonly<Record<string, string | readonly string[]>>;
  readonly createdFrom?: Date;
  readonly createdTo?: Date;
  readonly updatedFrom?: Date;
  readonly updatedTo?: Date;
  /** Only instances with an outbox entry created before this time. */
  readonly outboxOlderThan?: Date;
  /** Only instances whose id or correlation value is one of these. */
  readonly ids?: readonly string[];
}

/** An action as the store keeps it (see `operations/api.ts` for its meaning). */
export interface StoredAction {
  readonly id: string;
  /** The stored saga type and id of the instance (for error queues: `error-queue:<endpoint>` and the message id). */
  readonly sagaType: string;
  readonly sagaId: string;
  readonly at: Date;
  readonly action: string;
  readonly reason: string;
  readonly by?: string;
  readonly detail?: string;
  readonly outcome: 'done' | 'failed';
  readonly error?: string;
}

/** One row of {@link InstanceAdminStore.count}. */
export interface InstanceCountRow {
  readonly sagaType: string;
  readonly status: 'active' | 'completed';
  /** The values of the label keys asked for (absent when the instance has no such label). */
  readonly labels: Readonly<Record<string, string>>;
  readonly count: number;
}

/** The admin port; see the file header. */
export interface InstanceAdminStore {
  /**
   * Instances matching any of `anyOf` (all instances when it is empty), up to `page.limit`,
   * after `page.cursor`. `next` is set when more may follow.
   */
  search(
    anyOf: readonly InstanceCriteria[],
    page: { readonly limit: number; readonly cursor?: string },
  ): Promise<{ records: SagaRecord[]; next?: string }>;
  /** Matching instances grouped by stored type, status and the values of `labelKeys`. */
  count(anyOf: readonly InstanceCriteria[], labelKeys: readonly string[]): Promise<InstanceCountRow[]>;
  /** Appends an action to the log. Idempotent by `id`. */
  recordAction(action: StoredAction): Promise<void>;
  /**
   * The actions on one instance (`sagaId` undefined: on every instance of the type, e.g. all the
   * messages of an error queue), newest first (by `at`, then by `id` descending).
   */
  actions(sagaType: string, sagaId: string | undefined, limit: number): Promise<StoredAction[]>;
}
