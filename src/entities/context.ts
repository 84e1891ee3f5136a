/** The context an entity operation runs with: it buffers what the operation emits until it returns. */
import { type OutgoingOptions, type SendOptions } from '../bus/outgoing.js';
import { LonghaulError } from '../errors.js';
import { type Envelope } from '../messages/envelope.js';
import { type EntityContext } from './api.js';
import { checkEntityKey, checkOperationName, type EntityClass, entityNameOf } from './definitions.js';
import { EntityOperationMessage } from './messages.js';

/** One message an operation emitted, sent only if the operation returns. */
export type Emitted =
  | { readonly kind: 'send'; readonly message: object; readonly options?: SendOptions }
  | { readonly kind: 'publish'; readonly message: object; readonly options?: OutgoingOptions };

/** @internal */
export class EntityContextImpl<State> implements EntityContext<State> {
  readonly emitted: Emitted[] = [];
  deleted = false;
  private sealed = false;

  constructor(
    public state: State,
    readonly entityType: string,
    readonly key: string,
    readonly operation: string,
    readonly envelope: Envelope,
    private readonly at: Date,
  ) {}

  get operationId(): string {
    return this.envelope.id;
  }

  now(): Date {
    return new Date(this.at);
  }

  send(message: object, options?: SendOptions): void {
    this.live('send');
    this.emitted.push({ kind: 'send', message, options });
  }

  publish(message: object, options?: OutgoingOptions): void {
    this.live('publish');
    this.emitted.push({ kind: 'publish', message, options });
  }

  signalEntity(entity: EntityClass | string, key: string, operation: string, input?: unknown): void {
    this.live('signalEntity');
    const message = new EntityOperationMessage(
      entityNameOf(entity),
      checkEntityKey(key),
      checkOperationName(operation),
      input,
    );
    this.emitted.push({ kind: 'send', message });
  }

  deleteState(): void {
    this.live('deleteState');
    this.deleted = true;
  }

  /** Called when the operation has returned or thrown: later calls throw instead of being lost. */
  seal(): void {
    this.sealed = true;
  }

  private live(call: string): void {
    if (this.sealed) {
      throw new LonghaulError(
        'context-sealed',
        `ctx.${call}() called after operation '${this.operation}' of ${this.entityType} '${this.key}' returned: await every ctx call inside the operation`,
      );
    }
  }
}
