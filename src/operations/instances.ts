/** Reading instances: list, counts, show, typed get, actions. */
import { LonghaulError } from '../errors.js';
import { type SagaRecord, type SagaStore } from '../persistence/saga-store.js';
import { sagaDefinitionOf } from '../sagas/metadata.js';
import { sagaInstanceId } from '../util/ids.js';
import { workflowNameOf } from '../workflows/definitions.js';
import { WORKFLOW_SAGA } from '../workflows/engine.js';
import { type ActionLog, type ActionTarget } from './action-log.js';
import {
  INSTANCE_STATUSES,
  type ActionRecord,
  type InstanceCount,
  type InstanceCounts,
  type InstanceDetail,
  type InstanceQuery,
  type InstanceRef,
  type InstancesApi,
  type InstanceStatus,
  type InstanceSummary,
  type Page,
  type PageRequest,
} from './api.js';
import { criteriaOf, decodeCursor, encodeCursor, InvalidQueryError, pageLimit } from './query.js';
import { detail, identify, summarize } from './views.js';

/** @internal The {@link InstancesApi} of `OperationsClient`. */
export class Instances implements InstancesApi {
  constructor(
    private readonly store: SagaStore,
    private readonly log: ActionLog,
    private readonly now: () => Date,
  ) {}

  async list(query: InstanceQuery = {}, page: PageRequest = {}): Promise<Page<InstanceSummary>> {
    const limit = pageLimit(page);
    const criteria = criteriaOf(query, this.now());
    const found = await this.store.admin.search(criteria, { limit, cursor: decodeCursor(page.cursor) });
    return {
      items: found.records.map(summarize),
      ...(found.next !== undefined ? { next: encodeCursor(found.next) } : {}),
    };
  }

  async counts(query: InstanceQuery = {}): Promise<InstanceCounts> {
    const rows = await this.store.admin.count(criteriaOf(query, this.now()), ['workflowType', 'status']);
    const groups = new Map<string, InstanceCount>();
    for (const row of rows) {
      const workflow = row.sagaType === WORKFLOW_SAGA;
      const group: Omit<InstanceCount, 'count'> = workflow
        ? {
            kind: 'workflow',
            type: row.labels.workflowType ?? 'unknown',
            status: (row.labels.status ?? row.status) as InstanceStatus,
          }
        : { kind: 'saga', type: row.sagaType, status: row.status };
      const key = `${group.kind}\u0000${group.type}\u0000${group.status}`;
      groups.set(key, { ...group, count: (groups.get(key)?.count ?? 0) + row.count });
    }
    const sorted = [...groups.values()].sort(
      (a, b) =>
        compare(a.kind, b.kind) ||
        compare(a.type, b.type) ||
        INSTANCE_STATUSES.indexOf(a.status) - INSTANCE_STATUSES.indexOf(b.status),
    );
    return { total: sorted.reduce((sum, g) => sum + g.count, 0), groups: sorted };
  }

  async show(ref: InstanceRef): Promise<InstanceDetail | undefined> {
    checkRef(ref);
    const record = await this.find(ref);
    if (!record) return undefined;
    const [deadLetters, actions] = await Promise.all([
      this.store.deadLetters.list({ sagaType: record.sagaType, sagaId: record.id }, { limit: 20 }),
      this.log.list(targetOf(record), 50),
    ]);
    return detail(record, deadLetters, actions);
  }

  async get<State = unknown>(
    type: abstract new (...args: never[]) => unknown,
    id: string,
  ): Promise<InstanceDetail<State> | undefined> {
    const saga = sagaDefinitionOf(type as abstract new (...args: unknown[]) => unknown);
    const ref: InstanceRef = saga
      ? { kind: 'saga', type: saga.name, id }
      : { kind: 'workflow', type: workflowNameOf(type as abstract new (...args: unknown[]) => unknown), id };
    return (await this.show(ref)) as InstanceDetail<State> | undefined;
  }

  async actions(ref: InstanceRef, options: { readonly limit?: number } = {}): Promise<ActionRecord[]> {
    checkRef(ref);
    const record = await this.find(ref);
    const target: ActionTarget = record
      ? targetOf(record)
      : ref.kind === 'workflow'
        ? { ref, sagaType: WORKFLOW_SAGA, sagaId: sagaInstanceId(WORKFLOW_SAGA, ref.id) }
        : { ref, sagaType: ref.type, sagaId: ref.id };
    return this.log.list(target, options.limit ?? 50);
  }

  /**
   * The record behind a reference: a workflow by its id (of the given type); a saga by its id,
   * else by its correlation value.
   */
  async find(ref: InstanceRef): Promise<SagaRecord | undefined> {
    if (ref.kind === 'workflow') {
      const record = await this.store.findByCorrelation(WORKFLOW_SAGA, ref.id);
      return record && identify(record).type === ref.type ? record : undefined;
    }
    return (
      (await this.store.findById(ref.type, ref.id)) ?? (await this.store.findByCorrelation(ref.type, ref.id))
    );
  }

  /** A workflow instance by id, whatever its type. */
  findWorkflow(id: string): Promise<SagaRecord | undefined> {
    return this.store.findByCorrelation(WORKFLOW_SAGA, id);
  }

  /** {@link Instances.find}, or a `not-found` error naming the instance. */
  async require(ref: InstanceRef): Promise<SagaRecord> {
    checkRef(ref);
    const record = await this.find(ref);
    if (!record) {
      throw new LonghaulError('not-found', `No ${ref.kind} instance ${ref.type} '${ref.id}'`);
    }
    return record;
  }
}

/** The action target of a stored record. */
export function targetOf(record: SagaRecord): ActionTarget {
  const { kind, type, id } = identify(record);
  return { ref: { kind, type, id }, sagaType: record.sagaType, sagaId: record.id };
}

function checkRef(ref: InstanceRef): void {
  if (ref.kind !== 'saga' && ref.kind !== 'workflow') {
    throw new InvalidQueryError('kind', `expected 'saga' or 'workflow', got ${JSON.stringify(ref.kind)}`);
  }
  if (typeof ref.type !== 'string' || ref.type === '')
    throw new InvalidQueryError('type', 'expected a type name');
  if (typeof ref.id !== 'string' || ref.id === '')
    throw new InvalidQueryError('id', 'expected an instance id');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
