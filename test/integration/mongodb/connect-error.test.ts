import { describe, expect, it } from 'vitest';
import { MongoSagaStore, MongoStoreUnavailableError, silentLogger } from '../../../src/index.js';
import { mongoUrl } from './support.js';

describe('a MongoDB store whose login is refused (FerretDB without authentication)', () => {
  it('fails init at once, saying the login was refused and after how long', async () => {
    const at = new URL(mongoUrl);
    const store = new MongoSagaStore({
      url: `mongodb://someone:not-the-password@${at.host}/`,
      database: 'lh_connect_error',
      serverSelectionTimeout: '5s',
      logger: silentLogger,
    });
    const started = Date.now();
    const error = await store.init().then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsed = Date.now() - started;
    await store.close();
    expect(error).toBeInstanceOf(MongoStoreUnavailableError);
    const message = (error as Error).message;
    expect(message).toMatch(
      new RegExp(`^MongoDB at ${at.host} \\(database 'lh_connect_error'\\) refused the login after \\d+ ms`),
    );
    expect(message).not.toContain('5000 ms');
    expect(Number(/after (\d+) ms/.exec(message)?.[1])).toBeLessThanOrEqual(elapsed);
    expect(message).not.toContain('not-the-password');
  });
});
