/**
 * The `writeConcern` option of the MongoDB stores reaches the driver: every write command the saga
 * store and the timeout store send carries it (seen with command monitoring on the test store,
 * which accepts and ignores it), the default is `{ w: 'majority' }`, and a bad value fails at
 * construction naming the field.
 */
import { type CommandStartedEvent, MongoClient } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError, silentLogger } from '../../../src/index.js';
import { MongoSagaStore, type MongoStoreOptions } from '../../../src/persistence/mongodb/index.js';
import { MongoTimeoutStore } from '../../../src/timeouts/mongodb/index.js';
import { databaseFor, mongoUrl } from './support.js';

const WRITES = new Set(['insert', 'update', 'delete', 'findAndModify']);

describe('MongoDB store write concern', () => {
  let client: MongoClient | undefined;
  let database = '';
  afterEach(async () => {
    await client?.db(database).dropDatabase();
    await client?.close();
    client = undefined;
  });

  /** Both stores on one monitored client; resolves with the write concern of each write command. */
  async function writesWith(extra: Partial<MongoStoreOptions>): Promise<Record<string, unknown>[]> {
    database = databaseFor('write_concern');
    client = new MongoClient(mongoUrl, { monitorCommands: true, serverSelectionTimeoutMS: 5000 });
    const seen: Record<string, unknown>[] = [];
    client.on('commandStarted', (event: CommandStartedEvent) => {
      if (WRITES.has(event.commandName) && event.databaseName === database) {
        seen.push({ command: event.commandName, ...(event.command.writeConcern as object) });
      }
    });
    const options = { client, database, logger: silentLogger, ...extra };
    const sagas = new MongoSagaStore(options);
    const timeouts = new MongoTimeoutStore(options);
    await sagas.init();
    await timeouts.init();
    await sagas.delete('Nothing', 'none');
    const message = { messageId: 'm-1', headers: {}, body: '{}' };
    await timeouts.schedule({ id: 't-1', dueAt: new Date(0), destination: 'x', message });
    await timeouts.cancel('t-1');
    return seen;
  }

  it('sends the configured write concern with every write of both stores', async () => {
    const seen = await writesWith({ writeConcern: { w: 'majority', journal: true, timeout: '5s' } });
    // The init's marker that the search fields are in place (an upsert), the delete, the schedule
    // and the cancel.
    expect(seen.map((s) => s.command).sort()).toEqual(['delete', 'delete', 'insert', 'update']);
    for (const concern of seen) expect(concern).toMatchObject({ w: 'majority', j: true, wtimeout: 5000 });
  });

  it("defaults to { w: 'majority' } even on a client configured otherwise", async () => {
    const seen = await writesWith({});
    expect(seen).toHaveLength(4);
    for (const concern of seen) expect(concern).toEqual({ command: concern.command, w: 'majority' });
  });

  it('fails at construction naming the field of a bad value', () => {
    const field = (writeConcern: unknown): string => {
      try {
        new MongoTimeoutStore({ url: mongoUrl, writeConcern: writeConcern as never });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigurationError);
        return (error as ConfigurationError).field;
      }
      throw new Error('expected a ConfigurationError');
    };
    expect(field({ w: 0 })).toBe('writeConcern.w');
    expect(field({ w: 'most' })).toBe('writeConcern.w');
    expect(field({ journal: 'yes' })).toBe('writeConcern.journal');
    expect(field({ timeout: 'soon' })).toBe('writeConcern.timeout');
    expect(field({ wtimeout: 5000 })).toBe('writeConcern.wtimeout');
    expect(field('majority')).toBe('writeConcern');
    expect(() => new MongoSagaStore({ url: mongoUrl, writeConcern: { w: -1 } })).toThrow(/writeConcern\.w/);
  });
});
