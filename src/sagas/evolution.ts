/**
 * A loaded instance brought to what this code expects (docs/evolution.md): its state through the
 * saga's state upcasters, up to `@Saga(name, { stateVersion })`, and the message type names of its
 * pending timeouts to their current names (a timeout message renamed since, with an alias). The
 * commit then writes the state back with the current version.
 */
import { cloneData } from '../util/clone.js';
import { LonghaulError, NonRetryableError } from '../errors.js';
import { defaultRegistry } from '../messages/registry.js';
import { type SagaRecord } from '../persistence/saga-store.js';
import { type SagaDefinition } from './metadata.js';

/** The instance as this code expects it, or an error that sends the message to retries / the error queue. */
export function evolve(saga: SagaDefinition, record: SagaRecord): SagaRecord {
  const current = saga.stateVersion ?? 1;
  const stored = record.stateVersion ?? 1;
  let renamed = false;
  const timeouts = record.timeouts.map((t) => {
    const name = defaultRegistry.lookup(t.type)?.name;
    if (name === undefined || name === t.type) return t;
    renamed = true;
    return { ...t, type: name };
  });
  if (record.state === null || record.version === 0 || stored === current) {
    const stateVersion = saga.stateVersion ?? record.stateVersion;
    // Nothing to change (the usual case): the record as loaded.
    if (!renamed && stateVersion === record.stateVersion) return record;
    return Object.assign({}, record, { timeouts, stateVersion });
  }
  const where = `${saga.name} instance ${record.id}`;
  if (stored > current) {
    // Written by a newer deploy: another process may run it (a rolling deploy), so retry first.
    throw new LonghaulError(
      'state-version-unsupported',
      `${where} has state version ${stored}, newer than this code's ${current}: it is left to a process running the newer code (retried, then the error queue)`,
    );
  }
  let state: unknown = record.state;
  for (let version = stored; version < current; version++) {
    const upcaster = saga.upcastState?.[version];
    if (!upcaster) {
      throw new NonRetryableError(
        `${where} has state version ${stored} and ${saga.ctor.name} has no upcastState[${version}]: add it, then replay the message from the error queue`,
        { code: 'state-upcast-missing' },
      );
    }
    try {
      state = upcaster(cloneData(state));
    } catch (error) {
      throw new NonRetryableError(
        `${where}: upcastState[${version}] of ${saga.ctor.name} threw: ${(error as Error).message}`,
        { code: 'state-upcast-failed', cause: error },
      );
    }
    if (state === null || typeof state !== 'object') {
      throw new NonRetryableError(
        `${where}: upcastState[${version}] of ${saga.ctor.name} returned ${String(state)}`,
        {
          code: 'state-upcast-failed',
        },
      );
    }
  }
  return { ...record, state, timeouts, stateVersion: current };
}

/** The stored names an instance of `saga` may be found under: its name, then its former names. */
export function storedNames(saga: SagaDefinition): readonly string[] {
  return saga.aliases === undefined || saga.aliases.length === 0 ? [saga.name] : [saga.name, ...saga.aliases];
}
