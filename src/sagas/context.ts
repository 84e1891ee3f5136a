import { type OutgoingCollector, type OutgoingOptions, type SendOptions } from '../bus/outgoing.js';
import { type Envelope, Headers } from '../messages/envelope.js';
import { messageTypeOf, messageTypeOfInstance, type MessageClass } from '../messages/registry.js';
import { type PendingTimeout } from '../persistence/saga-store.js';
import { type Duration, toMillis } from '../util/duration.js';
import { LonghaulError } from '../errors.js';
import {
  checkEntityKey,
  checkOperationName,
  type EntityClass,
  entityNameOf,
  type OperationInput,
  type OperationName,
} from '../entities/definitions.js';
import { EntityOperationMessage } from '../entities/messages.js';

/** When a timeout falls due: `after` a duration from now, or `at` an instant. */
export type TimeoutWhen = { after: Duration; at?: never } | { at: Date; after?: never };

/**
 * What a saga handler gets besides its message. Everything it sends, publishes or schedules is
 * collected and committed atomically with the new state; nothing leaves before the commit.
 */
export interface SagaContext<State> {
  /** The instance's state: a private copy, mutate it freely (or assign a new object). */
  state: State;
  /** The incoming message with its metadata. */
  readonly envelope: Envelope;
  /** The instance id. */
  readonly sagaId: string;
  /** The correlation value. */
  readonly correlationKey: string;
  /** True while handling the message that created the instance. */
  readonly isNew: boolean;
  /** The clock's current time (virtual in tests). */
  now(): Date;
  /** Sends a command to the endpoint that owns it (see the endpoint's `routes`). */
  send(message: object, options?: SendOptions): Promise<void>;
  /** Publishes an event to every subscriber. */
  publish(message: object, options?: OutgoingOptions): Promise<void>;
  /** Asks for `message` to come back to this instance later; resolves with the timeout id. */
  requestTimeout(message: object, when: TimeoutWhen): Promise<string>;
  /** Cancels a timeout by id, or every pending timeout of a message class. */
  cancelTimeout(timeout: string | MessageClass): Promise<void>;
  /**
   * Signals an operation on an entity (one way), committed with the state like `send`: it goes to
   * the endpoint hosting entities (this one, or where `routes` send `longhaul.entity.Operation`,
   * or `options.to`). See docs/entities.md.
   * @example
   * ```ts
   * await ctx.signalEntity(Counter, msg.customerId, 'add', 1);
   * ```
   */
  signalEntity<E extends object, K extends OperationName<E>>(
    entity: EntityClass<E> | string,
    key: string,
    operation: K | string,
    input?: OperationInput<E, K>,
    options?: SendOptions,
  ): Promise<void>;
  /** Marks the saga complete: its state is dropped and a tombstone keeps late messages out. */
  complete(): void;
  /** True once {@link SagaContext.complete} was called. */
  readonly completed: boolean;
  /**
   * Sets searchable labels on the instance, committed with the state: each key gets the value,
   * or loses its label when the value is `null`; other labels stay. Operators find instances by
   * label (`longhaul instances list --label customer=c-42`). At most 32 labels; keys are 1-64 of
   * `[A-Za-z0-9_.-]`, values strings of at most 256 characters.
   * @example
   * ```ts
   * ctx.setLabels({ customer: msg.customerId, region: 'eu' });
   * ```
   */
  setLabels(labels: Readonly<Record<string, string | null>>): void;
}

/** Most labels one instance may carry. */
export const MAX_LABELS = 32;
const LABEL_KEY = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Checks a label change; throws `invalid-label` naming the key. `reserved` keys are refused
 * (a workflow's own `workflowType` and `status`).
 */
export function checkLabels(labels: unknown, reserved: readonly string[] = []): void {
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    throw new LonghaulError(
      'invalid-label',
      `setLabels: expected an object of labels, got ${String(labels)}`,
    );
  }
  for (const [key, value] of Object.entries(labels)) {
    if (!LABEL_KEY.test(key)) {
      throw new LonghaulError(
        'invalid-label',
        `setLabels: label key ${JSON.stringify(key)} must be 1-64 of [A-Za-z0-9_.-]`,
      );
    }
    if (reserved.includes(key)) {
      throw new LonghaulError(
        'invalid-label',
        `setLabels: label key '${key}' is reserved (the workflow's own)`,
      );
    }
    if (value !== null && (typeof value !== 'string' || value.length > 256)) {
      throw new LonghaulError(
        'invalid-label',
        `setLabels: label '${key}' must be a string of at most 256 characters or null, got ${typeof value === 'string' ? `${value.length} characters` : typeof value}`,
      );
    }
  }
}

/**
 * The labels after a change: `patch` values set, `null` values removed. `undefined` when nothing
 * is left and nothing was there. Throws `invalid-label` over {@link MAX_LABELS}.
 */
export function applyLabels(
  base: Readonly<Record<string, string>> | undefined,
  patch: Readonly<Record<string, string | null>> | undefined,
): Readonly<Record<string, string>> | undefined {
  if (!patch) return base;
  const next: Record<string, string> = { ...(base ?? {}) };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  if (Object.keys(next).length > MAX_LABELS) {
    throw new LonghaulError(
      'invalid-label',
      `setLabels: at most ${MAX_LABELS} labels per instance, got ${Object.keys(next).length}`,
    );
  }
  return Object.keys(next).length === 0 && !base ? undefined : next;
}

/** @internal The context implementation the commit path hands to saga methods. */
export class SagaContextImpl<State> implements SagaContext<State> {
  completed = false;
  /**
   * @internal Label changes to commit with the instance (`null` removes one): from
   * {@link SagaContextImpl.setLabels}, and the workflow engine's type and status.
   */
  labels?: Record<string, string | null>;
  readonly requested: PendingTimeout[] = [];
  readonly cancelled = new Set<string>();
  /**
   * @internal Set by the commit path: commits the state and the entries collected so far, without
   * marking the message handled (the workflow engine's step checkpoints).
   */
  checkpointer?: () => Promise<void>;
  /** @internal The version the instance was loaded at (`0` for a new one); set by the commit path. */
  loadedVersion = 0;
  /**
   * @internal Called by the commit path with the version written, once the handling's final
   * commit has landed (never when it did not): the workflow engine's run cache.
   */
  onCommitted?: (version: number) => void;
  private sealed = false;

  constructor(
    public state: State,
    readonly envelope: Envelope,
    readonly sagaType: string,
    readonly sagaId: string,
    readonly correlationKey: string,
    readonly isNew: boolean,
    private readonly pending: readonly PendingTimeout[],
    readonly outgoing: OutgoingCollector,
    private readonly endpoint: string,
    private readonly clockNow: Date,
  ) {}

  now(): Date {
    return new Date(this.clockNow);
  }

  async send(message: object, options?: SendOptions): Promise<void> {
    this.assertLive('send');
    this.outgoing.send(message, options);
  }

  async publish(message: object, options?: OutgoingOptions): Promise<void> {
    this.assertLive('publish');
    this.outgoing.publish(message, options);
  }

  async requestTimeout(message: object, when: TimeoutWhen): Promise<string> {
    return this.requestTimeoutNow(message, when);
  }

  async signalEntity(
    entity: EntityClass | string,
    key: string,
    operation: string,
    input?: unknown,
    options?: SendOptions,
  ): Promise<void> {
    this.assertLive('signalEntity');
    const message = new EntityOperationMessage(
      entityNameOf(entity),
      checkEntityKey(key),
      checkOperationName(operation),
      input,
    );
    this.outgoing.send(message, options);
  }

  async cancelTimeout(timeout: string | MessageClass): Promise<void> {
    this.cancelTimeoutNow(timeout);
  }

  /**
   * @internal Called by the commit path once the handler has returned (or thrown): from then on
   * every operation throws {@link ContextSealedError} instead of being lost, since what the
   * context collects is committed only while the handler runs.
   */
  seal(): void {
    this.sealed = true;
  }

  /**
   * @internal Makes what the handler did so far durable in one conditional write (the message is
   * not yet marked handled, and a fired timeout stays pending, so a redelivery goes on from here).
   */
  async checkpoint(): Promise<void> {
    this.assertLive('checkpoint');
    if (!this.checkpointer)
      throw new LonghaulError('checkpoint-unavailable', 'This context cannot checkpoint (no commit path)');
    await this.checkpointer();
  }

  /** @internal {@link SagaContextImpl.requestTimeout}, synchronously (for the workflow engine). */
  requestTimeoutNow(message: object, when: TimeoutWhen): string {
    this.assertLive('requestTimeout');
    this.assertOpen();
    const dueAt =
      when.at !== undefined
        ? new Date(when.at)
        : new Date(this.clockNow.getTime() + toMillis(when.after, 'after'));
    if (Number.isNaN(dueAt.getTime()))
      throw new LonghaulError('invalid-timeout', 'requestTimeout: invalid date');
    const entry = this.outgoing.schedule(message, dueAt, this.endpoint, {
      [Headers.sagaType]: this.sagaType,
      [Headers.sagaId]: this.sagaId,
      // Back to the partition of the instance's other messages (a partitioned endpoint).
      [Headers.partitionKey]: this.correlationKey,
    });
    this.requested.push({ id: entry.id, type: messageTypeOfInstance(message).name, dueAt });
    return entry.id;
  }

  /** @internal {@link SagaContextImpl.cancelTimeout}, synchronously (for the workflow engine). */
  cancelTimeoutNow(timeout: string | MessageClass): void {
    this.assertLive('cancelTimeout');
    const all = [...this.pending, ...this.requested];
    const type = typeof timeout === 'string' ? undefined : messageTypeOf(timeout).name;
    for (const t of all) {
      if ((type === undefined ? t.id === timeout : t.type === type) && !this.cancelled.has(t.id)) {
        this.cancelled.add(t.id);
        this.outgoing.cancel(t.id);
      }
    }
  }

  setLabels(labels: Readonly<Record<string, string | null>>): void {
    this.assertLive('setLabels');
    checkLabels(labels);
    this.labels = { ...(this.labels ?? {}), ...labels };
  }

  complete(): void {
    this.assertLive('complete');
    this.completed = true;
  }

  /** Timeouts still pending after this handler: stored ones + requested − cancelled − `fired`. */
  remainingTimeouts(fired?: string): PendingTimeout[] {
    return [...this.pending, ...this.requested].filter((t) => t.id !== fired && !this.cancelled.has(t.id));
  }

  /** Cancels every timeout still pending (on completion). */
  cancelRemaining(fired?: string): void {
    for (const t of this.remainingTimeouts(fired)) {
      this.cancelled.add(t.id);
      this.outgoing.cancel(t.id);
    }
  }

  private assertLive(operation: string): void {
    if (this.sealed) throw new ContextSealedError(this.sagaType, this.sagaId, this.envelope, operation);
  }

  private assertOpen(): void {
    if (this.completed) {
      throw new LonghaulError(
        'saga-completed',
        `Saga ${this.sagaType} ${this.sagaId} is complete: request timeouts before complete()`,
      );
    }
  }
}

/**
 * A saga context was used after its handler had returned (code `context-sealed`): typically a
 * `ctx.send` in a callback or a promise the handler did not await. What a context collects is
 * committed with the state when the handler returns, so a later call could only be lost; it
 * throws instead. Await every operation inside the handler.
 */
export class ContextSealedError extends LonghaulError {
  constructor(sagaType: string, sagaId: string, envelope: Envelope, operation: string) {
    super(
      'context-sealed',
      `ctx.${operation}() called after the handler of ${sagaType} ${sagaId} for ${envelope.type} ${envelope.id} returned: ` +
        'nothing would commit it. Await every ctx operation inside the handler.',
    );
  }
}
