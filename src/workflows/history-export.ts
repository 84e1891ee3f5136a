/**
 * The portable form of a workflow instance's history: what `client.history(id)` returns, what
 * `longhaul workflows export` writes and what `replayHistory` and `longhaul workflows replay` read.
 *
 * It is plain JSON, versioned by its `format` field. Dates of the history itself (`at`,
 * `createdAt`, `finishedAt`) are ISO strings; `Date`s inside values (input, activity results,
 * signal payloads, recorded `now()`) are `{ "$date": ISO }`, as on the wire, so they come back as
 * `Date`s. Import validates every field and names the first bad one.
 */
import { DecodeError, LonghaulError } from '../errors.js';
import { fromJson, toJson } from '../messages/codec.js';
import {
  type HistoryEvent,
  type ParkedInfo,
  type WorkflowState,
  type WorkflowStatusName,
} from './history.js';
import { type FailureInfo } from './messages.js';

/** The `format` of version 1 of the export. */
export const HISTORY_FORMAT = 'longhaul.workflow-history/1';

/** One history event as exported: like {@link HistoryEvent}, with its dates as ISO strings. */
export type ExportedHistoryEvent = HistoryEvent extends infer E
  ? E extends unknown
    ? { readonly [K in keyof E]: E[K] extends Date ? string : E[K] }
    : never
  : never;

/** A workflow instance's history in the portable, versioned export format. */
export interface WorkflowHistory {
  readonly format: typeof HISTORY_FORMAT;
  readonly instanceId: string;
  readonly workflowType: string;
  /** The generation the events belong to (earlier generations ended with `continueAsNew`). */
  readonly generation: number;
  /** The generation's input, Dates as `{ "$date": ISO }`. */
  readonly input: unknown;
  /** The status when exported; replay compares how the code ends with it. */
  readonly status: WorkflowStatusName;
  /** Why the instance was parked or terminated, when it was. */
  readonly reason?: string;
  /** What the replay found when the instance parked (position, what the history holds, what the code asked for). */
  readonly parked?: Omit<ParkedInfo, 'since'> & { readonly since: string };
  /** Resets so far (`client.reset`). @defaultValue 0 */
  readonly epoch?: number;
  readonly result?: unknown;
  readonly failure?: FailureInfo;
  readonly createdAt: string;
  readonly finishedAt?: string;
  readonly events: readonly ExportedHistoryEvent[];
}

/** A history file or object that is not a valid export; `field` names the first bad field. */
export class HistoryFormatError extends LonghaulError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('invalid-history', `Invalid workflow history: ${field}: ${message}`);
  }
}

type FieldType = 'int' | 'string' | 'boolean' | 'date' | 'value' | 'failure' | readonly string[];
type Schema = Readonly<Record<string, readonly [FieldType, 'required' | 'optional']>>;

const OPERATION_KINDS = ['activity', 'sleep', 'event', 'child', 'step', 'entity'] as const;
const STATUSES: readonly WorkflowStatusName[] = ['running', 'completed', 'failed', 'terminated', 'parked'];

/** The fields of each event kind. Fields the schema does not know are kept as JSON values. */
const EVENT_SCHEMAS: Readonly<Record<string, Schema>> = {
  started: { at: ['date', 'required'], generation: ['int', 'required'] },
  scheduled: {
    seq: ['int', 'required'],
    op: [OPERATION_KINDS, 'required'],
    name: ['string', 'required'],
    at: ['date', 'required'],
    timerId: ['string', 'optional'],
    childId: ['string', 'optional'],
  },
  completed: {
    seq: ['int', 'required'],
    value: ['value', 'optional'],
    at: ['date', 'required'],
    signal: ['string', 'optional'],
    timedOut: ['boolean', 'optional'],
  },
  failed: { seq: ['int', 'required'], failure: ['failure', 'required'], at: ['date', 'required'] },
  'attempt-failed': {
    seq: ['int', 'required'],
    attempt: ['int', 'required'],
    failure: ['failure', 'required'],
    timerId: ['string', 'optional'],
    retryAt: ['date', 'optional'],
    at: ['date', 'required'],
  },
  'retry-due': { seq: ['int', 'required'], timerId: ['string', 'required'], at: ['date', 'required'] },
  recorded: {
    seq: ['int', 'required'],
    op: [['now', 'uuid', 'random'], 'required'],
    value: ['value', 'required'],
  },
  signal: {
    id: ['string', 'required'],
    name: ['string', 'required'],
    payload: ['value', 'optional'],
    at: ['date', 'required'],
  },
  'cancel-requested': { reason: ['string', 'required'], at: ['date', 'required'] },
  marker: {
    patch: ['string', 'required'],
    seq: ['int', 'required'],
    deprecated: ['boolean', 'optional'],
    at: ['date', 'required'],
  },
  reset: {
    afterEvent: ['int', 'required'],
    reason: ['string', 'required'],
    epoch: ['int', 'required'],
    dropped: ['int', 'required'],
    at: ['date', 'required'],
  },
};

/** Fields every event may have. */
const COMMON_FIELDS: Schema = { build: ['string', 'optional'] };

/** A value as JSON, its Dates tagged. */
function encodeValue(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(toJson(value));
}

function decodeValue(value: unknown, field: string): unknown {
  if (value === undefined) return undefined;
  try {
    return fromJson(JSON.stringify(value));
  } catch (error) {
    if (error instanceof DecodeError) throw new HistoryFormatError(field, error.message);
    throw error;
  }
}

/**
 * The portable export of an instance's state (its current generation).
 * @example
 * ```ts
 * const history = exportHistory(record.state as WorkflowState);
 * await writeFile('order-42.json', JSON.stringify(history, null, 2));
 * ```
 */
export function exportHistory(state: WorkflowState): WorkflowHistory {
  const events = state.history.map((event) => {
    const out: Record<string, unknown> = {};
    const schema = { ...EVENT_SCHEMAS[event.e], ...COMMON_FIELDS };
    for (const [key, raw] of Object.entries(event)) {
      if (raw === undefined) continue;
      const type = schema[key]?.[0];
      if (raw instanceof Date) out[key] = raw.toISOString();
      else if (key === 'e' || (type !== undefined && type !== 'value')) out[key] = raw;
      else out[key] = encodeValue(raw);
    }
    return out as ExportedHistoryEvent;
  });
  return {
    format: HISTORY_FORMAT,
    instanceId: state.instanceId,
    workflowType: state.type,
    generation: state.generation,
    input: encodeValue(state.input),
    status: state.status,
    ...(state.reason !== undefined ? { reason: state.reason } : {}),
    ...(state.parked !== undefined
      ? { parked: { ...state.parked, since: new Date(state.parked.since).toISOString() } }
      : {}),
    ...(state.epoch ? { epoch: state.epoch } : {}),
    ...(state.result !== undefined ? { result: encodeValue(state.result) } : {}),
    ...(state.failure !== undefined ? { failure: state.failure } : {}),
    createdAt: new Date(state.createdAt).toISOString(),
    ...(state.finishedAt !== undefined ? { finishedAt: new Date(state.finishedAt).toISOString() } : {}),
    events,
  };
}

/** A validated history with its events and values decoded (Dates restored), ready to replay. */
export interface DecodedHistory {
  readonly header: WorkflowHistory;
  readonly input: unknown;
  readonly events: HistoryEvent[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `the string ${JSON.stringify(value.slice(0, 40))}` : typeof value;
}

function checkField(value: unknown, type: FieldType, field: string): unknown {
  const bad = (expected: string): never => {
    throw new HistoryFormatError(field, `expected ${expected}, got ${describe(value)}`);
  };
  if (Array.isArray(type)) {
    if (typeof value !== 'string' || !type.includes(value)) bad(`one of ${type.join(', ')}`);
    return value;
  }
  switch (type) {
    case 'int':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
        bad('a non-negative integer');
      return value;
    case 'string':
      if (typeof value !== 'string') bad('a string');
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') bad('true or false');
      return value;
    case 'date': {
      if (typeof value !== 'string') bad('an ISO date string');
      const date = new Date(value as string);
      if (Number.isNaN(date.getTime())) bad('an ISO date string');
      return date;
    }
    case 'failure':
      if (!isRecord(value) || typeof value.name !== 'string' || typeof value.message !== 'string')
        bad('a failure { name, message, code?, stack? }');
      return value;
    default:
      return decodeValue(value, field);
  }
}

function decodeEvent(raw: unknown, field: string): HistoryEvent {
  if (!isRecord(raw)) throw new HistoryFormatError(field, `expected an event object, got ${describe(raw)}`);
  const kind = raw.e;
  const schema = typeof kind === 'string' ? EVENT_SCHEMAS[kind] : undefined;
  if (!schema) {
    throw new HistoryFormatError(
      `${field}.e`,
      `unknown event kind ${JSON.stringify(kind)} (known: ${Object.keys(EVENT_SCHEMAS).join(', ')}); ` +
        'the history was exported by a newer Longhaul: replay it with that version',
    );
  }
  const event: Record<string, unknown> = { e: kind };
  for (const [key, [type, presence]] of Object.entries({ ...schema, ...COMMON_FIELDS })) {
    const value = raw[key];
    if (value === undefined) {
      if (presence === 'required') throw new HistoryFormatError(`${field}.${key}`, 'missing');
      continue;
    }
    event[key] = checkField(value, type, `${field}.${key}`);
  }
  for (const [key, value] of Object.entries(raw)) {
    if (!(key in event) && !(key in schema) && !(key in COMMON_FIELDS))
      event[key] = decodeValue(value, `${field}.${key}`);
  }
  return event as unknown as HistoryEvent;
}

function checkHeader(value: unknown): WorkflowHistory {
  if (!isRecord(value)) throw new HistoryFormatError('(root)', `expected an object, got ${describe(value)}`);
  if (value.format !== HISTORY_FORMAT) {
    throw new HistoryFormatError(
      'format',
      `expected '${HISTORY_FORMAT}', got ${describe(value.format)}` +
        (typeof value.format === 'string' && value.format.startsWith('longhaul.workflow-history/')
          ? ' (another version of the format: use the Longhaul version that exported it)'
          : ''),
    );
  }
  const required: Schema = {
    instanceId: ['string', 'required'],
    workflowType: ['string', 'required'],
    generation: ['int', 'required'],
    status: [STATUSES, 'required'],
    reason: ['string', 'optional'],
    epoch: ['int', 'optional'],
    failure: ['failure', 'optional'],
    createdAt: ['date', 'required'],
    finishedAt: ['date', 'optional'],
  };
  for (const [key, [type, presence]] of Object.entries(required)) {
    if (value[key] === undefined) {
      if (presence === 'required') throw new HistoryFormatError(key, 'missing');
      continue;
    }
    checkField(value[key], type, key);
  }
  if (value.parked !== undefined) {
    const parked = value.parked as Record<string, unknown> | null;
    if (!isRecord(parked) || typeof parked.kind !== 'string' || typeof parked.message !== 'string')
      throw new HistoryFormatError('parked', `expected { kind, message, … }, got ${describe(parked)}`);
    checkField(parked.since, 'date', 'parked.since');
  }
  if (!Array.isArray(value.events))
    throw new HistoryFormatError('events', `expected an array, got ${describe(value.events)}`);
  return value as unknown as WorkflowHistory;
}

/**
 * Validates a history (JSON text or a parsed object) and decodes it for replay.
 * @throws {@link HistoryFormatError} naming the first bad field.
 */
export function decodeHistory(source: unknown): DecodedHistory {
  let value = source;
  if (typeof source === 'string') {
    try {
      value = JSON.parse(source);
    } catch (error) {
      throw new HistoryFormatError('(json)', (error as Error).message);
    }
  }
  const header = checkHeader(value);
  const events = header.events.map((event, i) => decodeEvent(event, `events[${i}]`));
  const first = events[0];
  if (first?.e !== 'started')
    throw new HistoryFormatError('events[0].e', `a history begins with a 'started' event`);
  return { header, input: decodeValue(header.input, 'input'), events };
}

/**
 * Reads an exported history (JSON text or an object from `JSON.parse`) and validates it.
 * @throws {@link HistoryFormatError} naming the first bad field.
 * @example
 * ```ts
 * const history = parseHistory(await readFile('histories/order-42.json', 'utf8'));
 * ```
 */
export function parseHistory(source: unknown): WorkflowHistory {
  return decodeHistory(source).header;
}
