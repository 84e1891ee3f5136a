/** What entity code and entity callers see: the operation context, the stored view, the errors. */
import { type OutgoingOptions, type SendOptions } from '../bus/outgoing.js';
import { type Envelope } from '../messages/envelope.js';
import { type EntityClass, type OperationInput, type OperationName } from './definitions.js';

/**
 * What an entity operation gets besides its input. The state is a private copy: the operation's
 * changes, and the messages it sends, are committed together when it returns; when it throws,
 * none of them are (the caller gets the error).
 */
export interface EntityContext<State> {
  /** The entity's state: mutate it, or assign a new value. */
  state: State;
  readonly entityType: string;
  readonly key: string;
  /** The operation being applied. */
  readonly operation: string;
  /** The operation's id (its message id): the same on a redelivery. */
  readonly operationId: string;
  /** The incoming message with its metadata. */
  readonly envelope: Envelope;
  /** The clock's time when the operation is applied (virtual in tests). */
  now(): Date;
  /** Sends a command, committed with the state (see the endpoint's `routes`). */
  send(message: object, options?: SendOptions): void;
  /** Publishes an event, committed with the state. */
  publish(message: object, options?: OutgoingOptions): void;
  /** Signals an operation on another entity (or this one: it queues behind this operation). */
  signalEntity<E extends object, K extends OperationName<E>>(
    entity: EntityClass<E> | string,
    key: string,
    operation: K | string,
    input?: OperationInput<E, K>,
  ): void;
  /** Deletes the entity once this operation is committed: the next operation starts from `initialState()`. */
  deleteState(): void;
}

/** A caller's view of one entity, as {@link EntityClient.read} returns it. */
export interface EntitySnapshot<State = unknown> {
  readonly entityType: string;
  readonly key: string;
  readonly state: State;
  /** Operations applied since the entity was created (or last deleted). */
  readonly operations: number;
  /** The last operation applied, and when. */
  readonly lastOperation?: { readonly name: string; readonly at: Date };
  readonly createdAt: Date;
  readonly updatedAt: Date;
}
