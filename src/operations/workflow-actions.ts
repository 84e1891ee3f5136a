/** Steering workflows through the `WorkflowClient`. Each call is recorded. */
import { LonghaulError } from '../errors.js';
import { sagaInstanceId } from '../util/ids.js';
import { type WorkflowClient } from '../workflows/client.js';
import { WORKFLOW_SAGA } from '../workflows/engine.js';
import { type ActionLog, type ActionTarget } from './action-log.js';
import { type ActionName, type ActionOptions, type WorkflowActionsApi } from './api.js';
import { type Instances } from './instances.js';
import { InvalidQueryError } from './query.js';
import { identify } from './views.js';

/** @internal The {@link WorkflowActionsApi} of `OperationsClient`. */
export class WorkflowActions implements WorkflowActionsApi {
  constructor(
    private readonly client: WorkflowClient | undefined,
    private readonly instances: Instances,
    private readonly log: ActionLog,
  ) {}

  async start(
    type: string,
    input: unknown,
    options: ActionOptions & { readonly id?: string } = {},
  ): Promise<string> {
    if (typeof type !== 'string' || type === '')
      throw new InvalidQueryError('type', 'expected a workflow type name');
    const client = this.workflows();
    let id = options.id;
    return this.log.run(
      'workflow.start',
      () => target(type, id ?? ''),
      options,
      undefined,
      async () => {
        id = await client.start(type, input, options.id !== undefined ? { id: options.id } : {});
        return id;
      },
    );
  }

  async signal(
    id: string,
    eventType: string,
    payload: unknown,
    options: ActionOptions & { readonly signalId?: string } = {},
  ): Promise<void> {
    if (typeof eventType !== 'string' || eventType === '') {
      throw new InvalidQueryError('eventType', 'expected a message type name');
    }
    await this.act('workflow.signal', id, options, eventType, (c) =>
      c.signal(
        id,
        eventType,
        (payload ?? {}) as object,
        options.signalId !== undefined ? { signalId: options.signalId } : {},
      ),
    );
  }

  async cancel(id: string, options: ActionOptions): Promise<void> {
    const reason = required(options, 'cancel');
    await this.act('workflow.cancel', id, options, undefined, (c) => c.cancel(id, reason));
  }

  async terminate(id: string, options: ActionOptions): Promise<void> {
    const reason = required(options, 'terminate');
    await this.act('workflow.terminate', id, options, undefined, (c) => c.terminate(id, reason));
  }

  async resume(id: string, options?: ActionOptions): Promise<void> {
    await this.act('workflow.resume', id, options, undefined, (c) => c.resume(id));
  }

  async reset(id: string, afterEvent: number, options: ActionOptions): Promise<void> {
    const reason = required(options, 'reset');
    await this.act('workflow.reset', id, options, `after event ${afterEvent}`, (c) =>
      c.reset(id, { afterEvent, reason }),
    );
  }

  async purge(id: string, options?: ActionOptions): Promise<boolean> {
    return this.act(
      'workflow.purge',
      id,
      options,
      undefined,
      async (c) => (await c.purge({ instanceId: id })) > 0,
    );
  }

  /** Runs a client call on an existing instance and records it. */
  private async act<T>(
    action: ActionName,
    id: string,
    options: ActionOptions | undefined,
    detail: string | undefined,
    call: (client: WorkflowClient) => Promise<T>,
  ): Promise<T> {
    if (typeof id !== 'string' || id === '')
      throw new InvalidQueryError('id', 'expected a workflow instance id');
    const client = this.workflows();
    const stored = await this.instances.findWorkflow(id);
    if (!stored) throw new LonghaulError('not-found', `No workflow instance '${id}'`);
    return this.log.run(action, target(identify(stored).type, id), options, detail, () => call(client));
  }

  private workflows(): WorkflowClient {
    if (!this.client) {
      throw new LonghaulError(
        'unavailable',
        "Workflow actions need a WorkflowClient: give the OperationsClient one (option 'workflows', e.g. endpoint.workflowsAt('<endpoint>'))",
      );
    }
    return this.client;
  }
}

function target(type: string, id: string): ActionTarget {
  return {
    ref: { kind: 'workflow', type, id },
    sagaType: WORKFLOW_SAGA,
    sagaId: sagaInstanceId(WORKFLOW_SAGA, id),
  };
}

function required(options: ActionOptions | undefined, what: string): string {
  const reason = options?.reason;
  if (typeof reason !== 'string' || reason.trim() === '') {
    throw new InvalidQueryError('reason', `say why you ${what} the instance`);
  }
  return reason;
}
