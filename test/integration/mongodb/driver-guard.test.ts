/**
 * The driver hang that test/chaos found after a store restart (src/persistence/mongodb/driver-guard.ts):
 * a command whose connection closes before its request is written never settled, so a server
 * monitor stayed "checking" forever and its server `Unknown`. These tests close the connection at
 * exactly that moment, on a real connection to the test store, and require the command to fail
 * with the driver's network error (so the driver retries and the monitor checks again) instead.
 */
import { MongoClient, MongoNetworkError } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import { installDriverGuard } from '../../../src/persistence/mongodb/driver-guard.js';
import { MongoSagaStore } from '../../../src/persistence/mongodb/index.js';
import { databaseFor, eventually, mongoUrl, storeOptions } from './support.js';

/** The driver internals the test reaches into to close a socket at the right moment. */
interface InternalConnection {
  closed: boolean;
  socket: { destroy(): void };
  command(ns: { db: string; collection: string | undefined }, cmd: object, options: object): Promise<unknown>;
}
interface InternalServer {
  description: { type: string };
  monitor: { connection: InternalConnection | null; s: { state: string } };
  pool: { connections: { toArray?: () => InternalConnection[] } & Iterable<InternalConnection> };
}
function serverOf(client: MongoClient): InternalServer {
  const topology = (client as unknown as { topology: { s: { servers: Map<string, InternalServer> } } })
    .topology;
  return [...topology.s.servers.values()][0]!;
}
const adminCommand = { db: 'admin', collection: '$cmd', toString: () => 'admin.$cmd' };

/** Starts a command on `connection` and destroys its socket before the request goes out. */
async function commandClosedMidWrite(connection: InternalConnection): Promise<string> {
  const pending = connection.command(adminCommand, { hello: 1 }, { socketTimeoutMS: 2000 });
  connection.socket.destroy();
  return Promise.race([
    pending.then(
      () => 'resolved',
      (error: unknown) => (error instanceof MongoNetworkError ? 'network error' : `other: ${String(error)}`),
    ),
    new Promise<string>((resolve) => setTimeout(() => resolve('still pending after 5 s'), 5000)),
  ]);
}

describe('MongoDB driver guard (a close before the write completes fails the command)', () => {
  const clients: MongoClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close().catch(() => undefined);
  });

  it('is installed for the copy of the driver this package uses', () => {
    expect(installDriverGuard()).toBe('installed');
  });

  it('fails a monitor check cut off mid-write, so the monitor checks again and the server recovers', async () => {
    installDriverGuard();
    const client = new MongoClient(mongoUrl, {
      serverMonitoringMode: 'poll',
      heartbeatFrequencyMS: 500,
      serverSelectionTimeoutMS: 5000,
    });
    clients.push(client);
    await client.db('admin').command({ ping: 1 });
    const server = serverOf(client);
    expect(await eventually(() => server.monitor.connection !== null, 5000)).toBe(true);
    // The next check starts on the open monitor connection; its socket closes right then.
    let cut = false;
    const failed: string[] = [];
    client.on('serverHeartbeatStarted', () => {
      if (cut || !server.monitor.connection) return;
      cut = true;
      server.monitor.connection.socket.destroy();
    });
    client.on('serverHeartbeatFailed', (event) => failed.push(event.failure.message));

    expect(await eventually(() => failed.length > 0, 5000)).toBe(true);
    expect(cut).toBe(true);
    await client.db('admin').command({ ping: 1 });
    expect(await eventually(() => server.description.type === 'Standalone', 5000)).toBe(true);
  });

  it('fails an application command cut off mid-write instead of pinning its caller', async () => {
    const database = databaseFor('guard');
    // Constructing a store is what installs the guard in an application.
    const store = new MongoSagaStore(storeOptions(database));
    const client = new MongoClient(mongoUrl, { maxPoolSize: 1, serverSelectionTimeoutMS: 5000 });
    clients.push(client);
    await client.db(database).collection('probe').findOne({});
    const [connection] = [...serverOf(client).pool.connections];
    expect(connection).toBeDefined();
    expect(await commandClosedMidWrite(connection!)).toBe('network error');
    // The pool replaces the connection; the next operation succeeds.
    expect(await client.db(database).collection('probe').countDocuments({})).toBe(0);
    await client.db(database).dropDatabase();
    await store.close();
    expect(installDriverGuard()).toBe('installed');
  });
});
