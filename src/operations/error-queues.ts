/** The endpoints' error queues through an {@link ErrorQueueAccess}; replay and delete are recorded. */
import { LonghaulError } from '../errors.js';
import { type ActionLog } from './action-log.js';
import {
  type ActionRecord,
  type ActionName,
  type ActionOptions,
  type ErrorActionResult,
  type ErrorMessageView,
  type ErrorQueueAccess,
  type ErrorQueuesApi,
  type ErrorSelection,
  type InstanceRef,
} from './api.js';
import { InvalidQueryError } from './query.js';

/** The stored type under which error-queue actions are recorded, per endpoint. */
export function errorQueueType(endpoint: string): string {
  return `error-queue:${endpoint}`;
}

/** @internal The {@link ErrorQueuesApi} of `OperationsClient`. */
export class ErrorQueues implements ErrorQueuesApi {
  constructor(
    private readonly access: ErrorQueueAccess | undefined,
    private readonly log: ActionLog,
  ) {}

  count(endpoint: string): Promise<number> {
    return this.queues(endpoint).count(endpoint);
  }

  list(endpoint: string, options?: { readonly limit?: number }): Promise<ErrorMessageView[]> {
    const limit = options?.limit;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      throw new InvalidQueryError('limit', `expected a positive integer, got ${String(limit)}`);
    }
    return this.queues(endpoint).list(endpoint, options);
  }

  show(endpoint: string, messageId: string): Promise<ErrorMessageView | undefined> {
    return this.queues(endpoint).show(endpoint, messageId);
  }

  async actions(
    endpoint: string,
    options: { readonly messageId?: string; readonly limit?: number } = {},
  ): Promise<ActionRecord[]> {
    if (typeof endpoint !== 'string' || endpoint === '')
      throw new InvalidQueryError('endpoint', 'expected an endpoint name');
    const limit = options.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new InvalidQueryError('limit', `expected an integer from 1 to 1000, got ${String(limit)}`);
    }
    const type = errorQueueType(endpoint);
    const refOf = (id: string): InstanceRef => ({ kind: 'saga', type, id });
    return options.messageId === undefined
      ? this.log.listType(type, limit, refOf)
      : this.log.list({ ref: refOf(options.messageId), sagaType: type, sagaId: options.messageId }, limit);
  }

  replay(endpoint: string, selection: ErrorSelection, options?: ActionOptions): Promise<ErrorActionResult> {
    return this.act('errors.replay', endpoint, selection, options, (q) => q.replay(endpoint, selection));
  }

  delete(endpoint: string, selection: ErrorSelection, options?: ActionOptions): Promise<ErrorActionResult> {
    return this.act('errors.delete', endpoint, selection, options, (q) => q.delete(endpoint, selection));
  }

  private async act(
    action: ActionName,
    endpoint: string,
    selection: ErrorSelection,
    options: ActionOptions | undefined,
    work: (queues: ErrorQueueAccess) => Promise<ErrorActionResult>,
  ): Promise<ErrorActionResult> {
    checkSelection(selection);
    const result = await work(this.queues(endpoint));
    const type = errorQueueType(endpoint);
    for (const id of result.done) {
      await this.log.record(
        action,
        { ref: { kind: 'saga', type, id }, sagaType: type, sagaId: id },
        options,
        endpoint,
        'done',
      );
    }
    for (const failure of result.failed) {
      const ref = { kind: 'saga' as const, type, id: failure.messageId };
      await this.log.record(
        action,
        { ref, sagaType: type, sagaId: failure.messageId },
        options,
        endpoint,
        'failed',
        failure.error,
      );
    }
    return result;
  }

  private queues(endpoint: string): ErrorQueueAccess {
    if (typeof endpoint !== 'string' || endpoint === '')
      throw new InvalidQueryError('endpoint', 'expected an endpoint name');
    if (!this.access) {
      throw new LonghaulError(
        'unavailable',
        "Error queues need the transport's error-queue access: give the OperationsClient one (option 'errorQueues')",
      );
    }
    return this.access;
  }
}

function checkSelection(selection: ErrorSelection): void {
  if (typeof selection !== 'object' || selection === null) {
    throw new InvalidQueryError('selection', 'expected { all: true }, { ids: [...] } or { filter: {...} }');
  }
  if ('ids' in selection) {
    if (!Array.isArray(selection.ids) || selection.ids.length === 0) {
      throw new InvalidQueryError('ids', 'expected at least one message id');
    }
  } else if ('filter' in selection) {
    const f = selection.filter;
    if (f.reason === undefined && f.type === undefined && f.failedBefore === undefined) {
      throw new InvalidQueryError(
        'filter',
        'give at least one of reason, type, failedBefore (or use { all: true })',
      );
    }
  } else if (!('all' in selection) || selection.all !== true) {
    throw new InvalidQueryError('selection', 'expected { all: true }, { ids: [...] } or { filter: {...} }');
  }
}
