/**
 * What happens to a start message that finds an instance (`@StartedBy` `onExisting` /
 * `onCompleted`), and to any message for a completed instance: never silent.
 */
import { NonRetryableError } from '../errors.js';
import { type Envelope } from '../messages/envelope.js';
import { type SagaRecord } from '../persistence/saga-store.js';
import { type Logger } from '../util/logger.js';
import { type SagaOutcome } from './dispatcher.js';
import { type SagaDefinition, type SagaHandlerDefinition, startPolicies } from './metadata.js';

/**
 * A message for a completed instance, or a start message refused by its `onExisting` /
 * `onCompleted` policy: logged and acknowledged, or an error-queue error (never silent).
 */
export function refuse(
  logger: Logger,
  saga: SagaDefinition,
  handler: SagaHandlerDefinition,
  envelope: Envelope,
  record: SagaRecord,
): SagaOutcome {
  const completed = record.status === 'completed';
  const where = `${saga.name} instance ${record.id} ('${record.correlationKey}')`;
  const what = `${envelope.type} ${envelope.id}`;
  if (handler.role === 'start') {
    const { onExisting, onCompleted } = startPolicies(saga, handler);
    const [option, policy] = completed ? ['onCompleted', onCompleted] : ['onExisting', onExisting];
    const text = `Start message ${what} found the ${completed ? 'completed' : 'active'} ${where}`;
    if (policy === 'error') {
      throw new NonRetryableError(`${text} (@StartedBy ${option}: 'error')`, {
        code: completed ? 'start-on-completed' : 'start-on-existing',
      });
    }
    logger.info(`${text}: ignored (@StartedBy ${option}: 'ignore')`, {
      saga: saga.name,
      sagaId: record.id,
      type: envelope.type,
      id: envelope.id,
    });
    return {
      saga: saga.name,
      sagaId: record.id,
      result: completed ? 'completed-ignored' : 'existing-ignored',
    };
  }
  logger.info(`${what} for the completed ${where} ignored`, {
    saga: saga.name,
    sagaId: record.id,
    type: envelope.type,
    id: envelope.id,
  });
  return { saga: saga.name, sagaId: record.id, result: 'completed-ignored' };
}

/**
 * A tombstone turned back into an empty instance (`onCompleted: 'restart'`): same id and version
 * (the commit is conditional on the tombstone), the inbox kept so old duplicates stay recognised.
 */
export function restarted(record: SagaRecord): SagaRecord {
  return { ...record, status: 'active', state: null, timeouts: [], retainUntil: undefined };
}
