/**
 * The stored shape of a saga instance and its conversion to and from {@link SagaRecord}, with a
 * check on read that every field has the type the store writes (see `CorruptDocumentError`).
 */
import {
  type InboxEntry,
  type OutboxEntry,
  type PendingTimeout,
  type SagaRecord,
  type StoredMessage,
} from '../saga-store.js';
import { CorruptDocumentError } from './errors.js';
import {
  decodeHeaders,
  decodeState,
  DecodeProblem,
  describe,
  encodeHeaders,
  encodeKey,
  encodeState,
} from './value-codec.js';

/** A message inside a stored document: headers with encoded keys. */
export interface MessageDocument {
  messageId: string;
  headers: Record<string, string>;
  body: string;
}

/** An outbox entry as stored, keyed by its encoded id under `outbox`. */
export interface OutboxEntryDocument {
  id: string;
  operation: OutboxEntry['operation'];
  message?: MessageDocument;
  destination?: string;
  dueAt?: Date;
  timeoutId?: string;
  sourceMessageId: string;
  createdAt: Date;
  /** The version of the commit that added it, then its position in that commit: the outbox order. */
  batch: number;
  position: number;
  attempts?: number;
  nextAttemptAt?: Date;
  claim?: string;
  lastError?: string;
}

/** One saga or workflow instance as stored. */
export interface SagaDocument {
  /** `<sagaType with % and / escaped>/<id>`: unique per (saga type, id). */
  _id: string;
  sagaType: string;
  id: string;
  correlationKey: string;
  version: number;
  status: 'active' | 'completed';
  state: unknown;
  /**
   * Handled ids, oldest first, and in `inboxAt` the time each was handled, index for index. Two
   * flat arrays rather than `{ id, at }` sub-documents: half the cost on FerretDB, and the same
   * `inbox` shape as before the dedupe window (a version without `inboxAt` still reads it).
   */
  inbox: string[];
  inboxAt?: Date[];
  timeouts: PendingTimeout[];
  createdAt: Date;
  updatedAt: Date;
  retainUntil?: Date;
  /** The record's labels, keys encoded; matched by `SagaStore.list` as `labels.<key>`. */
  labels?: Record<string, string>;
  /**
   * One `<key>=<value>` term per label set with `ctx.setLabels` (a workflow's type and status
   * left out), indexed: a label search is one equality on this top-level array, which both
   * MongoDB (multikey index) and FerretDB (pushed down, GIN index) answer from an index.
   */
  labelTerms?: string[];
  /** Search fields, rewritten on every commit (see `scan-terms.ts`). */
  scanBucket?: string;
  scanTerms?: string[];
  /** The state's shape version; absent means 1. */
  stateVersion?: number;
  /** Pending entries by encoded entry id. Commits `$set` new keys, markDispatched `$unset`s them. */
  outbox: Record<string, OutboxEntryDocument>;
  /**
   * Present while the outbox may hold entries: a lower bound of the time the earliest one is due
   * (`nextAttemptAt`, else `createdAt`). Commits and failed attempts lower it with `$min`; it may be
   * left earlier than the earliest due entry, never later. Absent when empty. (The name is kept
   * from when it bounded `createdAt`, so stored documents and their index need no migration.)
   */
  outboxSince?: Date;
  /** Present while the outbox may hold entries: a lower bound of their `createdAt` (same upkeep). */
  outboxOldest?: Date;
  /** Counts writes to the outbox's entries, so a marker repair can be conditional on none between. */
  outboxRev?: number;
  /**
   * The state field whose sealed items live in chunk documents (`history-chunks.ts`), the ids of
   * those chunks in order, and how many items they hold (`chunked-state.ts`). Set by every commit
   * naming an append-only field; absent on documents written before chunks (read as 0 sealed).
   */
  chunkField?: string;
  chunks?: string[];
  chunkedItems?: number;
}

/** The `_id` of an instance. */
export function documentId(sagaType: string, id: string): string {
  return `${sagaType.replace(/%/g, '%25').replace(/\//g, '%2F')}/${id}`;
}

/** The update path segment of an outbox entry. */
export function outboxKey(entryId: string): string {
  return encodeKey(entryId);
}

export function encodeMessage(message: StoredMessage): MessageDocument {
  return { messageId: message.messageId, headers: encodeHeaders(message.headers), body: message.body };
}

export function encodeEntry(entry: OutboxEntry, batch: number, position: number): OutboxEntryDocument {
  const stored: OutboxEntryDocument = {
    id: entry.id,
    operation: entry.operation,
    sourceMessageId: entry.sourceMessageId,
    createdAt: entry.createdAt,
    batch,
    position,
  };
  if (entry.message !== undefined) stored.message = encodeMessage(entry.message);
  if (entry.destination !== undefined) stored.destination = entry.destination;
  if (entry.dueAt !== undefined) stored.dueAt = entry.dueAt;
  if (entry.timeoutId !== undefined) stored.timeoutId = entry.timeoutId;
  if (entry.attempts !== undefined) stored.attempts = entry.attempts;
  if (entry.nextAttemptAt !== undefined) stored.nextAttemptAt = entry.nextAttemptAt;
  if (entry.claim !== undefined) stored.claim = entry.claim;
  if (entry.lastError !== undefined) stored.lastError = entry.lastError;
  return stored;
}

/** The fields every commit writes (all but identity, outbox, its marker and the optional ones). */
export function encodeMutable(
  record: Omit<SagaRecord, 'outbox'>,
): Pick<
  SagaDocument,
  'version' | 'status' | 'state' | 'inbox' | 'inboxAt' | 'timeouts' | 'updatedAt' | 'stateVersion'
> {
  return {
    version: record.version,
    status: record.status,
    state: encodeState(record.state),
    inbox: record.inbox.map((e) => e.id),
    inboxAt: record.inbox.map((e) => e.at),
    timeouts: record.timeouts.map((t) => ({ id: t.id, type: t.type, dueAt: t.dueAt })),
    updatedAt: record.updatedAt,
    ...(record.stateVersion !== undefined ? { stateVersion: record.stateVersion } : {}),
  };
}

/** The stored type of workflow instances (`WORKFLOW_SAGA`; persistence does not import workflows). */
export const WORKFLOW_TYPE = 'longhaul.Workflow';

/** Labels a workflow keeps for itself: not search terms (documents before terms have them too). */
const OWN_LABELS = ['workflowType', 'status'];

/** The indexed search terms of a record's labels (see {@link SagaDocument.labelTerms}). */
export function labelTerms(sagaType: string, labels: Readonly<Record<string, string>>): string[] {
  return Object.entries(labels)
    .filter(([key]) => sagaType !== WORKFLOW_TYPE || !OWN_LABELS.includes(key))
    .map(([key, value]) => labelTerm(key, value));
}

/** The search term of one label. */
export function labelTerm(key: string, value: string): string {
  return `${key}=${value}`;
}

/** Labels with encoded keys (label names may contain dots). */
export function encodeLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  return encodeHeaders(labels);
}

/** The earliest `createdAt` among `entries`, if any. */
export function earliest(entries: readonly { readonly createdAt: Date }[]): Date | undefined {
  return earliestOf(entries.map((e) => e.createdAt));
}

/** The earliest time one of `entries` is due (`nextAttemptAt`, else `createdAt`), if any. */
export function earliestDue(
  entries: readonly { readonly createdAt: Date; readonly nextAttemptAt?: Date }[],
): Date | undefined {
  return earliestOf(entries.map((e) => e.nextAttemptAt ?? e.createdAt));
}

function earliestOf(dates: readonly Date[]): Date | undefined {
  let min: Date | undefined;
  for (const date of dates) if (!min || date.getTime() < min.getTime()) min = date;
  return min;
}

/** Reads a stored document back into a record, or throws {@link CorruptDocumentError}. */
export function decodeSaga(collection: string, doc: Record<string, unknown>): SagaRecord {
  try {
    const status = doc.status;
    if (status !== 'active' && status !== 'completed') {
      throw new DecodeProblem(`status is ${JSON.stringify(status)}, expected 'active' or 'completed'`);
    }
    const version = doc.version;
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
      throw new DecodeProblem(`version is ${describe(version)} ${String(version)}, expected an integer >= 1`);
    }
    const record: SagaRecord = {
      sagaType: text(doc, 'sagaType'),
      id: text(doc, 'id'),
      correlationKey: text(doc, 'correlationKey'),
      version,
      status,
      state: decodeState(doc.state),
      outbox: decodeOutbox(doc.outbox),
      inbox: decodeInbox(doc),
      timeouts: list(doc, 'timeouts').map((t, i) => decodeTimeout(t, `timeouts[${i}]`)),
      createdAt: date(doc, 'createdAt'),
      updatedAt: date(doc, 'updatedAt'),
    };
    const optional: { retainUntil?: Date; labels?: Record<string, string>; stateVersion?: number } = {};
    if (doc.stateVersion !== undefined && doc.stateVersion !== null)
      optional.stateVersion = integer(doc, 'stateVersion');
    if (doc.retainUntil !== undefined && doc.retainUntil !== null)
      optional.retainUntil = date(doc, 'retainUntil');
    if (doc.labels !== undefined && doc.labels !== null)
      optional.labels = decodeHeaders(doc.labels, 'labels');
    return { ...record, ...optional };
  } catch (error) {
    if (error instanceof DecodeProblem)
      throw new CorruptDocumentError(collection, String(doc._id), error.message);
    throw error;
  }
}

function decodeOutbox(stored: unknown): OutboxEntry[] {
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored) || stored instanceof Date) {
    throw new DecodeProblem(`outbox is ${describe(stored)}, expected a document`);
  }
  const entries = Object.entries(stored as Record<string, unknown>).map(([key, value]) => {
    const path = `outbox.${key}`;
    const e = value as Record<string, unknown>;
    const entry = decodeEntry(value, path);
    return { entry, batch: integer(e, 'batch', path), position: integer(e, 'position', path) };
  });
  entries.sort((a, b) => a.batch - b.batch || a.position - b.position);
  return entries.map((e) => e.entry);
}

/** Reads one stored outbox entry back, or throws a {@link DecodeProblem}. */
export function decodeEntry(value: unknown, path: string): OutboxEntry {
  if (typeof value !== 'object' || value === null) throw new DecodeProblem(`${path} is ${describe(value)}`);
  const e = value as Record<string, unknown>;
  const operation = e.operation;
  if (operation !== 'publish' && operation !== 'send' && operation !== 'schedule' && operation !== 'cancel') {
    throw new DecodeProblem(`${path}.operation is ${JSON.stringify(operation)}`);
  }
  const entry: { -readonly [K in keyof OutboxEntry]: OutboxEntry[K] } = {
    id: text(e, 'id', path),
    operation,
    sourceMessageId: text(e, 'sourceMessageId', path),
    createdAt: date(e, 'createdAt', path),
  };
  if (e.message !== undefined) entry.message = decodeMessage(e.message, `${path}.message`);
  if (e.destination !== undefined) entry.destination = text(e, 'destination', path);
  if (e.dueAt !== undefined) entry.dueAt = date(e, 'dueAt', path);
  if (e.timeoutId !== undefined) entry.timeoutId = text(e, 'timeoutId', path);
  if (e.attempts !== undefined) entry.attempts = integer(e, 'attempts', path);
  if (e.nextAttemptAt !== undefined) entry.nextAttemptAt = date(e, 'nextAttemptAt', path);
  if (e.claim !== undefined) entry.claim = text(e, 'claim', path);
  if (e.lastError !== undefined) entry.lastError = text(e, 'lastError', path);
  return entry;
}

/** Reads a stored message back, or throws a {@link DecodeProblem}. */
export function decodeMessage(stored: unknown, path: string): StoredMessage {
  if (typeof stored !== 'object' || stored === null)
    throw new DecodeProblem(`${path} is ${describe(stored)}`);
  const m = stored as Record<string, unknown>;
  return {
    messageId: text(m, 'messageId', path),
    headers: decodeHeaders(m.headers, `${path}.headers`),
    body: text(m, 'body', path),
  };
}

/**
 * The inbox from `inbox` (ids) and `inboxAt` (times). A document without `inboxAt`, or with one of
 * another length (written before the dedupe window, or by such a version since), has its ids taken
 * as handled at its last update: never earlier than they were, so they are kept long enough.
 */
function decodeInbox(doc: Record<string, unknown>): InboxEntry[] {
  const ids = list(doc, 'inbox').map((id, i) => {
    if (typeof id !== 'string') throw new DecodeProblem(`inbox[${i}] is ${describe(id)}, expected a string`);
    return id;
  });
  const times = doc.inboxAt === undefined || doc.inboxAt === null ? [] : list(doc, 'inboxAt');
  const updatedAt = date(doc, 'updatedAt');
  if (times.length !== ids.length) return ids.map((id) => ({ id, at: updatedAt }));
  return ids.map((id, i) => {
    const at = times[i];
    if (!(at instanceof Date)) throw new DecodeProblem(`inboxAt[${i}] is ${describe(at)}, expected a date`);
    return { id, at };
  });
}

function decodeTimeout(stored: unknown, path: string): PendingTimeout {
  if (typeof stored !== 'object' || stored === null)
    throw new DecodeProblem(`${path} is ${describe(stored)}`);
  const t = stored as Record<string, unknown>;
  return { id: text(t, 'id', path), type: text(t, 'type', path), dueAt: date(t, 'dueAt', path) };
}

/** Field readers that throw a {@link DecodeProblem} naming the field. */
export function text(doc: Record<string, unknown>, field: string, path?: string): string {
  const value = doc[field];
  if (typeof value !== 'string') throw problem(doc, field, path, 'a string');
  return value;
}

export function date(doc: Record<string, unknown>, field: string, path?: string): Date {
  const value = doc[field];
  if (!(value instanceof Date)) throw problem(doc, field, path, 'a date');
  return value;
}

function integer(doc: Record<string, unknown>, field: string, path?: string): number {
  const value = doc[field];
  if (typeof value !== 'number' || !Number.isInteger(value)) throw problem(doc, field, path, 'an integer');
  return value;
}

function list(doc: Record<string, unknown>, field: string): unknown[] {
  const value = doc[field];
  if (!Array.isArray(value)) throw problem(doc, field, undefined, 'an array');
  return value;
}

function problem(doc: Record<string, unknown>, field: string, path: string | undefined, expected: string) {
  return new DecodeProblem(
    `${path ? `${path}.` : ''}${field} is ${describe(doc[field])}, expected ${expected}`,
  );
}
