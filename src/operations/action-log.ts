/** Records operator actions on instances (see {@link InstanceAdminStore.recordAction}). */
import { type InstanceAdminStore, type StoredAction } from '../persistence/instance-admin.js';
import { type ActionName, type ActionOptions, type ActionRecord, type InstanceRef } from './api.js';

let sequence = 0;

/**
 * An action id that sorts by time, then by order within this process: stores order actions of
 * the same millisecond by it.
 */
function actionId(at: Date): string {
  sequence = (sequence + 1) % 36 ** 6;
  const random = Math.floor(Math.random() * 36 ** 6);
  return `${at.getTime().toString(36).padStart(10, '0')}-${sequence.toString(36).padStart(6, '0')}-${random.toString(36).padStart(6, '0')}`;
}

/** Where an action lands: the instance as the API names it and as the store keys it. */
export interface ActionTarget {
  readonly ref: InstanceRef;
  readonly sagaType: string;
  readonly sagaId: string;
}

/** @internal Runs actions and records each one, done or failed, with its reason. */
export class ActionLog {
  constructor(
    private readonly admin: InstanceAdminStore,
    private readonly now: () => Date,
  ) {}

  /**
   * Runs `work` and records the action: `done`, or `failed` with the error (which is rethrown).
   * `target` may be a function, evaluated after `work` (an id known only then).
   */
  async run<T>(
    action: ActionName,
    target: ActionTarget | (() => ActionTarget),
    options: ActionOptions | undefined,
    detail: string | undefined,
    work: () => Promise<T>,
  ): Promise<T> {
    try {
      const result = await work();
      await this.record(action, typeof target === 'function' ? target() : target, options, detail, 'done');
      return result;
    } catch (error) {
      let resolved: ActionTarget | undefined;
      try {
        resolved = typeof target === 'function' ? target() : target;
      } catch {
        resolved = undefined;
      }
      if (resolved) {
        await this.record(action, resolved, options, detail, 'failed', (error as Error).message);
      }
      throw error;
    }
  }

  /** Appends one action. */
  async record(
    action: ActionName,
    target: ActionTarget,
    options: ActionOptions | undefined,
    detail: string | undefined,
    outcome: 'done' | 'failed',
    error?: string,
  ): Promise<void> {
    const at = this.now();
    const stored: StoredAction = {
      id: actionId(at),
      sagaType: target.sagaType,
      sagaId: target.sagaId,
      at,
      action,
      reason: options?.reason ?? '',
      ...(options?.by !== undefined ? { by: options.by } : {}),
      ...(detail !== undefined ? { detail } : {}),
      outcome,
      ...(error !== undefined ? { error } : {}),
    };
    await this.admin.recordAction(stored);
  }

  /** The actions on one target, newest first, as the API shows them. */
  async list(target: ActionTarget, limit: number): Promise<ActionRecord[]> {
    return this.view(await this.admin.actions(target.sagaType, target.sagaId, limit), () => target.ref);
  }

  /** The actions on every instance of a stored type (an error queue's messages), newest first. */
  async listType(
    sagaType: string,
    limit: number,
    refOf: (sagaId: string) => InstanceRef,
  ): Promise<ActionRecord[]> {
    return this.view(await this.admin.actions(sagaType, undefined, limit), refOf);
  }

  private view(stored: readonly StoredAction[], refOf: (sagaId: string) => InstanceRef): ActionRecord[] {
    return stored.map((a) => ({
      id: a.id,
      action: a.action as ActionName,
      at: a.at,
      target: refOf(a.sagaId),
      reason: a.reason,
      ...(a.by !== undefined ? { by: a.by } : {}),
      ...(a.detail !== undefined ? { detail: a.detail } : {}),
      outcome: a.outcome,
      ...(a.error !== undefined ? { error: a.error } : {}),
    }));
  }
}
