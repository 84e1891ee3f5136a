export { type EntityContext, type EntitySnapshot } from './api.js';
export {
  Entity,
  EntityOperation,
  entityNameOf,
  type EntityClass,
  type OperationInput,
  type OperationName,
  type OperationOutput,
} from './definitions.js';
export { EntityClient, type EntityCallOptions } from './client.js';
export { ENTITY_SAGA } from './engine.js';
export { type EntityOptions } from './wiring.js';
