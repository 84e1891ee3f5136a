import { describe, expect, it } from 'vitest';
import { connectFailureMessage } from '../../src/persistence/mongodb/connection.js';

const base = { hosts: 'db.internal:27017', database: 'shop', timeoutMs: 5000 };

describe('the MongoDB connection error', () => {
  it('names a refused login with the real elapsed time, not the selection timeout', () => {
    const message = connectFailureMessage({
      ...base,
      elapsedMs: 54,
      errorName: 'MongoServerError',
      errorCode: 18,
      detail: 'Authentication failed.',
    });
    expect(message).toBe(
      "MongoDB at db.internal:27017 (database 'shop') refused the login after 54 ms: Authentication failed. " +
        '(check the user, password, authSource and mechanism)',
    );
    expect(message).not.toContain('5000');
  });

  it('says "within <timeout>" only when server selection ran out of time', () => {
    expect(
      connectFailureMessage({
        ...base,
        elapsedMs: 5003,
        errorName: 'MongoServerSelectionError',
        detail: 'connect ECONNREFUSED 10.0.0.1:27017',
      }),
    ).toBe(
      "Cannot connect to MongoDB at db.internal:27017 (database 'shop') within 5000 ms: connect ECONNREFUSED 10.0.0.1:27017",
    );
  });

  it('reports any other early failure with its elapsed time', () => {
    const message = connectFailureMessage({
      ...base,
      elapsedMs: 12,
      errorName: 'MongoParseError',
      detail: 'option foo is not supported',
    });
    expect(message).toBe(
      "Cannot connect to MongoDB at db.internal:27017 (database 'shop') (failed after 12 ms): option foo is not supported",
    );
  });
});
