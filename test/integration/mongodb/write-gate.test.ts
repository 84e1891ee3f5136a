/**
 * Why the test store has a write gate: FerretDB v1 applies a conditional update as read, change
 * in Go, write back by _id, so concurrent compare-and-set updates can all "win" and overwrite each
 * other. Through the gate (MONGODB_URL) writes to one document run one at a time and no update is
 * lost, as on MongoDB; on the raw port (MONGODB_DIRECT_URL) updates can be lost.
 *
 * The gate lets writes by _id to different documents run at once and serializes a write it cannot
 * pin to one document (a filter without _id) against every write (tools/ferretdb/gate.go): these
 * tests run rounds on several documents at once, through each kind of write, and lose nothing.
 */
import { Double, type Filter, Long, MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { databaseFor, directUrl, mongoUrl } from './support.js';

interface Counter {
  _id: string | number;
  name: string;
  n: number;
  version: number;
}

/** How a worker names the counter in its compare-and-set (`worker` is its number, 0–19). */
type Pick = (id: string | number, name: string, worker: number) => Filter<Counter>;
/** How a worker writes its compare-and-set: resolves `true` if its version matched. */
type Write = (
  counters: ReturnType<typeof collectionOf>,
  filter: Filter<Counter>,
  seen: Counter,
) => Promise<boolean>;

const collectionOf = (client: MongoClient, database: string) =>
  client.db(database).collection<Counter>('counters');

const byId: Pick = (id) => ({ _id: id });
const updateOne: Write = async (counters, filter, seen) =>
  (
    await counters.updateOne(
      { ...filter, version: seen.version },
      { $set: { n: seen.n + 1, version: seen.version + 1 } },
    )
  ).matchedCount === 1;

/** 20 workers each add one with a version-checked write, retrying until theirs matches; returns updates lost. */
async function casRound(
  client: MongoClient,
  database: string,
  id: string | number,
  pick: Pick = byId,
  write: Write = updateOne,
): Promise<number> {
  const counters = collectionOf(client, database);
  const name = `counter-${String(id)}`;
  await counters.insertOne({ _id: id, name, n: 0, version: 0 });
  let wins = 0;
  await Promise.all(
    Array.from({ length: 20 }, async (_, worker) => {
      for (;;) {
        const seen = await counters.findOne({ _id: id });
        if (!seen) throw new Error('counter vanished');
        if (await write(counters, pick(id, name, worker), seen)) {
          wins++;
          return;
        }
      }
    }),
  );
  const final = await counters.findOne({ _id: id });
  return wins - (final?.n ?? 0);
}

/** Runs `body` with a client of `url` on a fresh database, dropped afterwards. */
async function withStore<T>(
  url: string,
  body: (client: MongoClient, database: string) => Promise<T>,
): Promise<T> {
  const database = databaseFor('gate');
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000, maxPoolSize: 40 });
  try {
    return await body(client, database);
  } finally {
    await client.db(database).dropDatabase();
    await client.close();
  }
}

describe('the test store write gate', () => {
  it('20 concurrent compare-and-set increments lose nothing through the gate, and can lose on the raw port', async () => {
    const gatedLost = await withStore(mongoUrl, async (client, database) => {
      const lost: number[] = [];
      for (let round = 0; round < 3; round++) lost.push(await casRound(client, database, `round-${round}`));
      return lost;
    });
    const directLost = await withStore(directUrl, async (client, database) => {
      const lost: number[] = [];
      for (let round = 10; round < 15; round++) {
        lost.push(await casRound(client, database, `round-${round}`));
        if (lost.some((n) => n > 0)) break;
      }
      return lost;
    });
    console.log(
      `compare-and-set, 20 writers: updates lost through the gate ${gatedLost.join(', ')}; on the raw port ${directLost.join(', ')}`,
    );
    expect(gatedLost).toEqual([0, 0, 0]);
    expect(Math.max(...directLost)).toBeGreaterThan(0);
  });

  it('rounds on four documents at once, by _id, lose nothing', async () => {
    const lost = await withStore(mongoUrl, (client, database) =>
      Promise.all(['a', 'b', 'c', 'd'].map((id) => casRound(client, database, id))),
    );
    expect(lost).toEqual([0, 0, 0, 0]);
  });

  it('an _id written as int32, int64 and double is one document to the gate', async () => {
    const forms = [(id: number) => id, (id: number) => Long.fromNumber(id), (id: number) => new Double(id)];
    const lost = await withStore(mongoUrl, (client, database) =>
      Promise.all(
        [7, 8].map((id) =>
          casRound(
            client,
            database,
            id,
            (_, __, worker) => ({ _id: forms[worker % 3]!(id) }) as Filter<Counter>,
          ),
        ),
      ),
    );
    expect(lost).toEqual([0, 0]);
  });

  it('compare-and-set by another field (no _id: serialized against every write) and by findOneAndUpdate lose nothing', async () => {
    const byName: Pick = (_, name) => ({ name });
    const findOneAndUpdate: Write = async (counters, filter, seen) =>
      (await counters.findOneAndUpdate(
        { ...filter, version: seen.version },
        { $set: { n: seen.n + 1, version: seen.version + 1 } },
      )) !== null;
    const lost = await withStore(mongoUrl, (client, database) =>
      Promise.all([
        casRound(client, database, 'by-name-1', byName),
        casRound(client, database, 'by-name-2', byName),
        casRound(client, database, 'by-id', byId),
        casRound(client, database, 'find-and-modify', byId, findOneAndUpdate),
      ]),
    );
    expect(lost).toEqual([0, 0, 0, 0]);
  });
});
