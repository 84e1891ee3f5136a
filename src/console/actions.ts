/**
 * The actions the console offers on an instance, each behind a confirmation page: what it needs
 * (a reason, a timeout id, an outbox entry id, a history index, a signal), when it applies, and
 * the operations-API call that carries it out (which records it on the instance).
 */
import { type InstanceDetail, type InstanceRef, type OperationsApi } from '../operations/api.js';
import { badRequest, field, HttpError } from './http.js';

/** The fields of a submitted action form or JSON body. */
export type ActionFields = Record<string, string | string[]>;

/** One action of the console. */
export interface ConsoleAction {
  /** The URL segment and the API name, e.g. `resume`. */
  readonly name: string;
  readonly kind: 'saga' | 'workflow';
  /** The button's label. */
  readonly label: string;
  /** One sentence on what happens, shown on the confirmation page. */
  readonly explain: string;
  /** Whether a reason must be given (it is recorded with the action either way). */
  readonly reasonRequired: boolean;
  /** Extra inputs: a timeout id, an entry id, a history index, an event type and payload. */
  readonly inputs: readonly ('timeoutId' | 'entryId' | 'afterEvent' | 'eventType' | 'payload')[];
  /** Destructive actions get a red button. */
  readonly danger?: boolean;
  /** Whether the instance page offers it for this instance. */
  applies(detail: InstanceDetail): boolean;
  /** Carries it out; resolves with the one-line outcome shown afterwards. */
  run(ops: OperationsApi, ref: InstanceRef, fields: ActionFields, who: string): Promise<string>;
}

const finished = (d: InstanceDetail): boolean =>
  d.status === 'completed' || d.status === 'failed' || d.status === 'terminated';

function reasonOf(fields: ActionFields, required: boolean): string {
  const reason = field(fields, 'reason', true) ?? '';
  if (required && reason.trim() === '') throw badRequest('reason', 'required for this action');
  if (reason.length > 500) throw badRequest('reason', 'at most 500 characters');
  return reason;
}

function integer(fields: ActionFields, name: string): number {
  const text = field(fields, name);
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw badRequest(name, `expected a whole number, got '${text}'`);
  return n;
}

function jsonValue(fields: ActionFields, name: string): unknown {
  const text = field(fields, name, true) ?? '{}';
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badRequest(name, 'not valid JSON');
  }
}

/** Every action, in the order the instance page shows them. */
export const ACTIONS: readonly ConsoleAction[] = [
  {
    name: 'resume',
    kind: 'workflow',
    label: 'Resume',
    explain: 'Asks the parked workflow to replay its history now, against the code running now.',
    reasonRequired: false,
    inputs: [],
    applies: (d) => d.status === 'parked',
    async run(ops, ref, fields, who) {
      await ops.workflows.resume(ref.id, { reason: reasonOf(fields, false), by: who });
      return `Resume requested for '${ref.id}'.`;
    },
  },
  {
    name: 'signal',
    kind: 'workflow',
    label: 'Signal',
    explain: 'Raises an event on the workflow: a waitForEvent for that type receives the payload.',
    reasonRequired: false,
    inputs: ['eventType', 'payload'],
    applies: (d) => d.status === 'running' || d.status === 'parked',
    async run(ops, ref, fields, who) {
      const eventType = field(fields, 'eventType');
      await ops.workflows.signal(ref.id, eventType, jsonValue(fields, 'payload'), {
        reason: reasonOf(fields, false),
        by: who,
      });
      return `Signal '${eventType}' sent to '${ref.id}'.`;
    },
  },
  {
    name: 'reset',
    kind: 'workflow',
    label: 'Reset',
    explain: 'Rewinds the workflow to just after a history event; the operations after it run again.',
    reasonRequired: true,
    inputs: ['afterEvent'],
    applies: (d) => d.workflow !== undefined && d.workflow.history.length > 0,
    async run(ops, ref, fields, who) {
      const after = integer(fields, 'afterEvent');
      await ops.workflows.reset(ref.id, after, { reason: reasonOf(fields, true), by: who });
      return `'${ref.id}' reset to after event ${after}.`;
    },
  },
  {
    name: 'cancel',
    kind: 'workflow',
    label: 'Cancel',
    explain: 'Requests cancellation: pending operations fail with CancelledError and run may compensate.',
    reasonRequired: true,
    inputs: [],
    danger: true,
    applies: (d) => d.status === 'running' || d.status === 'parked',
    async run(ops, ref, fields, who) {
      await ops.workflows.cancel(ref.id, { reason: reasonOf(fields, true), by: who });
      return `Cancellation requested for '${ref.id}'.`;
    },
  },
  {
    name: 'terminate',
    kind: 'workflow',
    label: 'Terminate',
    explain: 'Ends the workflow at once without running it again; its timers and children stop too.',
    reasonRequired: true,
    inputs: [],
    danger: true,
    applies: (d) => d.status === 'running' || d.status === 'parked',
    async run(ops, ref, fields, who) {
      await ops.workflows.terminate(ref.id, { reason: reasonOf(fields, true), by: who });
      return `'${ref.id}' terminated.`;
    },
  },
  {
    name: 'purge',
    kind: 'workflow',
    label: 'Purge',
    explain: 'Deletes the finished workflow instance and its history for good.',
    reasonRequired: false,
    inputs: [],
    danger: true,
    applies: finished,
    async run(ops, ref, fields, who) {
      const gone = await ops.workflows.purge(ref.id, { reason: reasonOf(fields, false), by: who });
      return gone ? `'${ref.id}' purged.` : `'${ref.id}' was already gone.`;
    },
  },
  {
    name: 'fire-timeout',
    kind: 'saga',
    label: 'Fire timeout now',
    explain: 'Makes the pending timeout due now: the scheduler delivers it on its next poll.',
    reasonRequired: false,
    inputs: ['timeoutId'],
    applies: (d) => d.timeouts.length > 0,
    async run(ops, ref, fields, who) {
      const id = field(fields, 'timeoutId');
      await ops.sagas.fireTimeout(ref, id, { reason: reasonOf(fields, false), by: who });
      return `Timeout '${id}' made due now.`;
    },
  },
  {
    name: 'cancel-timeout',
    kind: 'saga',
    label: 'Cancel timeout',
    explain: 'Drops the pending timeout from the instance and from the timeout store.',
    reasonRequired: true,
    inputs: ['timeoutId'],
    danger: true,
    applies: (d) => d.timeouts.length > 0,
    async run(ops, ref, fields, who) {
      const id = field(fields, 'timeoutId');
      await ops.sagas.cancelTimeout(ref, id, { reason: reasonOf(fields, true), by: who });
      return `Timeout '${id}' cancelled.`;
    },
  },
  {
    name: 'retry-outbox',
    kind: 'saga',
    label: 'Retry outbox entry',
    explain: 'Makes the pending outbox entry due now: the outbox sweeper sends it on its next pass.',
    reasonRequired: false,
    inputs: ['entryId'],
    applies: (d) => d.outbox.length > 0,
    async run(ops, ref, fields, who) {
      const id = field(fields, 'entryId');
      await ops.sagas.retryOutbox(ref, id, { reason: reasonOf(fields, false), by: who });
      return `Outbox entry '${id}' made due now.`;
    },
  },
  {
    name: 'dead-letter-outbox',
    kind: 'saga',
    label: 'Dead-letter outbox entry',
    explain: "Moves the pending outbox entry to the outbox's dead letters (replayable later).",
    reasonRequired: true,
    inputs: ['entryId'],
    danger: true,
    applies: (d) => d.outbox.length > 0,
    async run(ops, ref, fields, who) {
      const id = field(fields, 'entryId');
      await ops.sagas.deadLetterOutbox(ref, id, { reason: reasonOf(fields, true), by: who });
      return `Outbox entry '${id}' dead-lettered.`;
    },
  },
  {
    name: 'complete',
    kind: 'saga',
    label: 'Complete',
    explain: "Completes the saga as its handler's ctx.complete() would: state dropped, timeouts cancelled.",
    reasonRequired: true,
    inputs: [],
    danger: true,
    applies: (d) => d.status === 'active',
    async run(ops, ref, fields, who) {
      await ops.sagas.complete(ref, { reason: reasonOf(fields, true), by: who });
      return `'${ref.id}' completed.`;
    },
  },
];

/** The action `name` for instances of `kind`, or a 404 with code `unknown-action`. */
export function actionFor(kind: string, name: string): ConsoleAction {
  const action = ACTIONS.find((a) => a.kind === kind && a.name === name);
  if (!action) throw new HttpError(404, 'unknown-action', `action: no '${name}' action for a ${kind}`);
  return action;
}
