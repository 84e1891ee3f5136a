/**
 * The operations client: one object over the saga store, the workflow client, the timeout store
 * and the transport's error queues, for the CLI, the web console and tooling. See `api.ts`.
 */
import { type SagaStore } from '../persistence/saga-store.js';
import { type TimeoutStore } from '../timeouts/timeout-store.js';
import { type Duration, toMillis } from '../util/duration.js';
import { type WorkflowClient } from '../workflows/client.js';
import { ActionLog } from './action-log.js';
import { type ErrorQueueAccess, type OperationsApi } from './api.js';
import { ErrorQueues } from './error-queues.js';
import { Instances } from './instances.js';
import { SagaActions } from './saga-actions.js';
import { WorkflowActions } from './workflow-actions.js';

/** Options of {@link OperationsClient}. */
export interface OperationsClientOptions {
  /** The saga store holding the instances (sagas and workflows). Required. */
  readonly store: SagaStore;
  /**
   * Sends workflow commands (signal, cancel, terminate, resume, reset, start) to the endpoint
   * hosting them: `endpoint.workflows`, or `endpoint.workflowsAt('<endpoint>')`. Without it,
   * workflow actions throw `unavailable` (reads still work). @defaultValue undefined
   */
  readonly workflows?: WorkflowClient;
  /** The timeout store: cancels timeouts at once and fires them now. @defaultValue undefined (fire-now throws `unavailable`; cancel is left to the outbox sweeper) */
  readonly timeouts?: TimeoutStore;
  /** The transport's error queues (`rabbitMqErrorQueueAccess(transport.errorQueues)`). @defaultValue undefined */
  readonly errorQueues?: ErrorQueueAccess;
  /** How long a saga completed by an operator keeps its tombstone. @defaultValue '7d' */
  readonly tombstoneRetention?: Duration;
  /** The time source (actions' times, "outbox pending longer than"). @defaultValue () => new Date() */
  readonly now?: () => Date;
}

/**
 * Lists, shows and steers saga and workflow instances, and the endpoints' error queues. Every
 * action is recorded on its instance (`instances.actions(ref)`, and in `show`).
 * @example
 * ```ts
 * const ops = new OperationsClient({
 *   store: sagaStore,
 *   workflows: endpoint.workflows,
 *   timeouts: timeoutStore,
 *   errorQueues: rabbitMqErrorQueueAccess(transport.errorQueues),
 * });
 * const parked = await ops.instances.list({ kind: 'workflow', status: 'parked' });
 * const order = await ops.instances.get<OrderState>(OrderFulfilment, 'o-1');
 * await ops.workflows.terminate('user-42', { reason: 'duplicate sign-up', by: 'ada' });
 * ```
 */
export class OperationsClient implements OperationsApi {
  readonly instances: Instances;
  readonly workflows: WorkflowActions;
  readonly sagas: SagaActions;
  readonly errors: ErrorQueues;

  constructor(options: OperationsClientOptions) {
    const now = options.now ?? (() => new Date());
    const log = new ActionLog(options.store.admin, now);
    this.instances = new Instances(options.store, log, now);
    this.workflows = new WorkflowActions(options.workflows, this.instances, log);
    this.sagas = new SagaActions(
      options.store,
      this.instances,
      log,
      now,
      options.timeouts,
      toMillis(options.tombstoneRetention ?? '7d', 'tombstoneRetention'),
    );
    this.errors = new ErrorQueues(options.errorQueues, log);
  }
}
