/**
 * Why the test store has a write gate: FerretDB v1 applies a conditional update as read, change
 * in Go, write back by _id, so concurrent compare-and-set updates can all "win" and overwrite each
 * other. Through the gate (MONGODB_URL) one write runs at a time and no update is lost, as on
 * MongoDB; on the raw port (MONGODB_DIRECT_URL) updates can be lost.
 */
import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { databaseFor, directUrl, mongoUrl } from './support.js';

interface Counter {
  _id: string;
  n: number;
  version: number;
}

/** 20 workers each add one with a version-checked update, retrying until theirs matches; returns updates lost. */
async function casRound(url: string, database: string, round: number): Promise<number> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
  try {
    const counters = client.db(database).collection<Counter>('counters');
    const _id = `round-${round}`;
    await counters.insertOne({ _id, n: 0, version: 0 });
    let wins = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        for (;;) {
          const seen = await counters.findOne({ _id });
          if (!seen) throw new Error('counter vanished');
          const result = await counters.updateOne(
            { _id, version: seen.version },
            { $set: { n: seen.n + 1, version: seen.version + 1 } },
          );
          if (result.matchedCount === 1) {
            wins++;
            return;
          }
        }
      }),
    );
    const final = await counters.findOne({ _id });
    return wins - (final?.n ?? 0);
  } finally {
    await client.close();
  }
}

describe('the test store write gate', () => {
  it('20 concurrent compare-and-set increments lose nothing through the gate, and can lose on the raw port', async () => {
    const database = databaseFor('gate');
    const cleanup = new MongoClient(mongoUrl, { serverSelectionTimeoutMS: 5000 });
    try {
      const gatedLost: number[] = [];
      for (let round = 0; round < 3; round++) gatedLost.push(await casRound(mongoUrl, database, round));
      const directLost: number[] = [];
      for (let round = 10; round < 15; round++) {
        directLost.push(await casRound(directUrl, database, round));
        if (directLost.some((lost) => lost > 0)) break;
      }
      console.log(
        `compare-and-set, 20 writers: updates lost through the gate ${gatedLost.join(', ')}; on the raw port ${directLost.join(', ')}`,
      );
      expect(gatedLost).toEqual([0, 0, 0]);
      expect(Math.max(...directLost)).toBeGreaterThan(0);
    } finally {
      await cleanup.db(database).dropDatabase();
      await cleanup.close();
    }
  });
});
