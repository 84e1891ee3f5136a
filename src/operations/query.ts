/** Turns an {@link InstanceQuery} into the store's criteria, checking every field. */
import { LonghaulError } from '../errors.js';
import { type InstanceCriteria } from '../persistence/instance-admin.js';
import { toMillis } from '../util/duration.js';
import { WORKFLOW_SAGA } from '../workflows/engine.js';
import { INSTANCE_STATUSES, type InstanceQuery, type InstanceStatus, type PageRequest } from './api.js';

/** Bad input to the operations API (code `invalid-query`), naming the field. */
export class InvalidQueryError extends LonghaulError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('invalid-query', `${field}: ${message}`);
  }
}

const SAGA_STATUSES: readonly InstanceStatus[] = ['active', 'completed'];
const WORKFLOW_STATUSES: readonly InstanceStatus[] = [
  'running',
  'parked',
  'completed',
  'failed',
  'terminated',
];
/** Label keys a workflow keeps for itself (its type and status). */
export const RESERVED_WORKFLOW_LABELS: readonly string[] = ['workflowType', 'status'];

/** The store criteria of a query (an empty list matches every instance). */
export function criteriaOf(query: InstanceQuery, now: Date): InstanceCriteria[] {
  const kinds = query.kind === undefined ? ['saga', 'workflow'] : [query.kind];
  if (query.kind !== undefined && query.kind !== 'saga' && query.kind !== 'workflow') {
    throw new InvalidQueryError('kind', `expected 'saga' or 'workflow', got ${JSON.stringify(query.kind)}`);
  }
  const statuses = list(query.status, 'status');
  for (const s of statuses ?? []) {
    if (!INSTANCE_STATUSES.includes(s)) {
      throw new InvalidQueryError(
        'status',
        `expected one of ${INSTANCE_STATUSES.join(', ')}, got ${JSON.stringify(s)}`,
      );
    }
  }
  const types = list(query.type, 'type');
  const labels = query.labels ?? {};
  for (const [k, v] of Object.entries(labels)) {
    if (typeof v !== 'string')
      throw new InvalidQueryError(`labels.${k}`, `expected a string, got ${typeof v}`);
  }
  const common: { -readonly [K in keyof InstanceCriteria]: InstanceCriteria[K] } = {};
  if (query.id !== undefined) {
    if (typeof query.id !== 'string' || query.id === '')
      throw new InvalidQueryError('id', `expected a non-empty string, got ${JSON.stringify(query.id)}`);
    common.ids = [query.id];
  }
  for (const field of ['createdFrom', 'createdTo', 'updatedFrom', 'updatedTo'] as const) {
    const value = query[field];
    if (value === undefined) continue;
    if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
      throw new InvalidQueryError(field, `expected a valid Date, got ${String(value)}`);
    }
    common[field] = value;
  }
  if (query.outboxPendingLongerThan !== undefined) {
    let ms: number;
    try {
      ms = toMillis(query.outboxPendingLongerThan, 'outboxPendingLongerThan');
    } catch (error) {
      throw new InvalidQueryError('outboxPendingLongerThan', (error as Error).message);
    }
    common.outboxOlderThan = new Date(now.getTime() - ms);
  }
  const criteria: InstanceCriteria[] = [];
  if (kinds.includes('saga')) {
    const wanted = statuses ? SAGA_STATUSES.filter((s) => statuses.includes(s)) : SAGA_STATUSES;
    const sagaTypes = types?.filter((t) => t !== WORKFLOW_SAGA);
    if (wanted.length > 0 && (!sagaTypes || sagaTypes.length > 0)) {
      criteria.push({
        ...(sagaTypes ? { sagaTypes } : { excludeSagaTypes: [WORKFLOW_SAGA] }),
        ...(wanted.length === 1 ? { status: wanted[0] as 'active' | 'completed' } : {}),
        ...(Object.keys(labels).length > 0 ? { labels } : {}),
        ...common,
      });
    }
  }
  if (kinds.includes('workflow')) {
    const wanted = statuses ? WORKFLOW_STATUSES.filter((s) => statuses.includes(s)) : undefined;
    if (!wanted || wanted.length > 0) {
      criteria.push({
        sagaTypes: [WORKFLOW_SAGA],
        labels: {
          ...labels,
          ...(types ? { workflowType: types } : {}),
          ...(wanted ? { status: wanted } : {}),
        },
        ...common,
      });
    }
  }
  // Nothing can match (e.g. kind 'saga' with status 'parked'): a criterion no record meets.
  if (criteria.length === 0) return [{ sagaTypes: [] }];
  return criteria.length === 2 &&
    Object.keys(common).length === 0 &&
    !statuses &&
    !types &&
    Object.keys(labels).length === 0
    ? []
    : criteria;
}

/** The checked page size (1..1000, default 50). */
export function pageLimit(page: PageRequest): number {
  const limit = page.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new InvalidQueryError('limit', `expected an integer from 1 to 1000, got ${String(limit)}`);
  }
  return limit;
}

/** The API's opaque cursor around the store's. */
export function encodeCursor(storeCursor: string): string {
  return Buffer.from(JSON.stringify({ c: storeCursor }), 'utf8').toString('base64url');
}

/** The store's cursor inside the API's, or an error naming `cursor`. */
export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { c?: unknown };
    if (typeof parsed.c === 'string') return parsed.c;
  } catch {
    // reported below
  }
  throw new InvalidQueryError('cursor', `not a cursor this API returned: ${JSON.stringify(cursor)}`);
}

function list<T extends string>(
  value: T | readonly T[] | undefined,
  field: string,
): readonly T[] | undefined {
  if (value === undefined) return undefined;
  const values = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(values) || values.some((v) => typeof v !== 'string' || v === '')) {
    throw new InvalidQueryError(
      field,
      `expected a non-empty string or a list of them, got ${JSON.stringify(value)}`,
    );
  }
  return values;
}
