/** The operations client and its API (see `api.ts`). */
export * from './api.js';
export { OperationsClient, type OperationsClientOptions } from './client.js';
export { inMemoryErrorQueueAccess, rabbitMqErrorQueueAccess } from './error-queue-access.js';
export { errorQueueType } from './error-queues.js';
export { InvalidQueryError } from './query.js';
