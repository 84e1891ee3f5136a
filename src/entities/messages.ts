/**
 * The message entity operations travel in: one command type for every entity type, handled by the
 * built-in entity saga (`engine.ts`) of the endpoint that hosts entities (or where `routes` sends
 * `longhaul.entity.Operation`).
 */
import { Command } from '../messages/registry.js';
import { checkEntityKey, checkOperationName, ENTITY_NAME } from './definitions.js';

/** Where the outcome of a call goes: kept in the entity for a polling client, or sent to a workflow. */
export type EntityReply =
  | { readonly kind: 'stored' }
  | {
      readonly kind: 'workflow';
      /** The endpoint hosting the calling workflow. */
      readonly endpoint: string;
      readonly instanceId: string;
      readonly generation: number;
      readonly seq: number;
      readonly epoch?: number;
    };

function problems(body: EntityOperationMessage): string[] {
  const found: string[] = [];
  if (typeof body.entityType !== 'string' || !ENTITY_NAME.test(body.entityType)) found.push('entityType');
  const check = (field: string, fn: () => unknown): void => {
    try {
      fn();
    } catch (error) {
      found.push(`${field}: ${(error as Error).message}`);
    }
  };
  check('key', () => checkEntityKey(body.key));
  if (body.kind !== 'delete') check('operation', () => checkOperationName(body.operation));
  if (body.kind !== undefined && body.kind !== 'delete') found.push('kind');
  const reply = body.reply as EntityReply | undefined;
  if (reply !== undefined && reply?.kind !== 'stored' && reply?.kind !== 'workflow') found.push('reply');
  return found;
}

/**
 * One operation for one entity (`kind: 'delete'` deletes it). Its message id is the operation
 * id: the entity's inbox applies each id once.
 */
@Command('longhaul.entity.Operation', { validate: problems })
export class EntityOperationMessage {
  constructor(
    readonly entityType: string,
    readonly key: string,
    readonly operation: string,
    readonly input?: unknown,
    readonly reply?: EntityReply,
    readonly kind?: 'delete',
  ) {}
}
