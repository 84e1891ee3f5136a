/**
 * Shared plumbing for the tests against the MongoDB-compatible test store: its URLs (from the
 * environment the vitest global setup fills in), a database name per test, and cleanup.
 */
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { type MongoStoreOptions } from '../../../src/persistence/mongodb/index.js';
import { silentLogger } from '../../../src/index.js';

/** The gated test store: single-document writes are atomic, as on MongoDB. */
export const mongoUrl = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';
/** The same FerretDB without its write gate: concurrent compare-and-set updates can be lost. */
export const directUrl = process.env.MONGODB_DIRECT_URL ?? 'mongodb://127.0.0.1:27019/';

/** A fresh database name for one test (`lh_<purpose>_<random>`). */
export function databaseFor(purpose: string): string {
  return `lh_${purpose}_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
}

/** Store options on a fresh database of the gated store, with the store creating its own client. */
export function storeOptions(database: string, extra: Partial<MongoStoreOptions> = {}): MongoStoreOptions {
  return { url: mongoUrl, database, logger: silentLogger, ...extra };
}

/** A client of the gated store (for raw reads, corruption and cleanup). */
export async function rawClient(url = mongoUrl): Promise<MongoClient> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
  await client.connect();
  return client;
}

/** Polls `check` until it returns true or `ms` pass; resolves with the last answer. */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 20_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Registers a suite's hooks: one raw driver client for the suite, and cleanup steps that run (last
 * first) after each test. Read `raw` inside tests.
 */
export function suiteFixture(): { readonly raw: MongoClient; readonly cleanup: (() => Promise<void>)[] } {
  let client: MongoClient | undefined;
  const cleanup: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    client = await rawClient();
  });
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });
  afterAll(async () => {
    await client?.close();
  });
  return {
    get raw(): MongoClient {
      if (!client) throw new Error('the raw client is only available inside tests');
      return client;
    },
    cleanup,
  };
}
