import { describe, it } from 'vitest';
import { InMemorySagaStore, InMemoryTimeoutStore } from '../../src/index.js';
import { runStartSemantics } from '../support/start-semantics.js';

describe('start semantics (in memory)', () => {
  it('onExisting / onCompleted: defaults ignore and log, error queues with a reason, handle and restart rerun', async () => {
    await runStartSemantics(
      async () => ({ sagaStore: new InMemorySagaStore(), timeoutStore: new InMemoryTimeoutStore() }),
      async (rig) => rig.endpoint.stop(),
    );
  });
});
