/**
 * A guard against a hang in the MongoDB Node.js driver (seen in 6.22.0; the same code is in 7.9.0).
 *
 * The hang: `Connection.writeCommand` serializes the request (an `await`), then writes it to the
 * socket and, when the write reports back-pressure, waits for the socket's `drain` event. If the
 * peer closed the connection during that `await`, the socket is already destroyed: the write
 * returns `false`, a destroyed socket emits neither `drain` nor `error`, its timeout timer is gone,
 * and the connection's own close handling only fails a read in progress, which has not started.
 * The command's promise then never settles. On an application connection that pins a handler slot
 * forever; on the server monitor's connection the monitor stays "checking" forever, ignores every
 * request to check again, and the server stays `Unknown`, so every later operation on the client
 * fails server selection — for the rest of the process's life. Reproduced by stopping FerretDB
 * under load (docs/reliability.md) and deterministically by test/integration/mongodb/driver-guard.test.ts.
 *
 * The guard: `writeCommand` also fails, with the connection's own network error, as soon as the
 * connection closes before the write completed (or at once if it is already closed). The driver then
 * does what it does for any network error: marks the server Unknown, clears the pool, retries a
 * retryable operation, and the monitor reports a failed heartbeat and checks again.
 *
 * It patches the driver's `Connection` prototype once per process (the copy of `mongodb` that this
 * package resolves, which is the one a user's own `MongoClient` comes from unless they bundle
 * another copy). If the driver's shape differs (a fixed or reworked version), it does nothing.
 * @internal
 */
import { createRequire } from 'node:module';

type WriteCommand = (this: GuardedConnection, command: unknown, options: unknown) => Promise<unknown>;

interface GuardedConnection {
  closed?: boolean;
  error?: unknown;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

const GUARDED = Symbol.for('longhaul.mongodb.writeCommandGuard');

let result: 'installed' | 'unsupported' | undefined;
let NetworkError: (new (message: string) => Error) | undefined;

/** Installs the guard (idempotent); says whether the driver's `Connection` could be guarded. */
export function installDriverGuard(): 'installed' | 'unsupported' {
  if (result) return result;
  result = 'unsupported';
  let prototype: Record<string | symbol, unknown> | undefined;
  try {
    const require = createRequire(import.meta.url);
    const module = require('mongodb/lib/cmap/connection.js') as {
      Connection?: { prototype?: Record<string | symbol, unknown> };
    };
    prototype = module.Connection?.prototype;
    NetworkError = (require('mongodb') as { MongoNetworkError?: new (message: string) => Error })
      .MongoNetworkError;
  } catch {
    return result;
  }
  if (!prototype) return result;
  if (prototype[GUARDED]) return (result = 'installed');
  const original = prototype.writeCommand;
  if (typeof original !== 'function' || original.length !== 2) return result;
  const write = original as WriteCommand;
  const guarded: WriteCommand = function (command, options) {
    if (this.closed === true) return Promise.reject(closedError(this));
    const written = write.call(this, command, options);
    return new Promise((resolve, reject) => {
      const onClose = (): void => reject(closedError(this));
      this.once('close', onClose);
      written.then(
        (value) => {
          this.off('close', onClose);
          resolve(value);
        },
        (error: unknown) => {
          this.off('close', onClose);
          reject(error);
        },
      );
    });
  };
  prototype.writeCommand = guarded;
  prototype[GUARDED] = true;
  return (result = 'installed');
}

/** The error the connection closed with (a `MongoNetworkError`, which the driver retries). */
function closedError(connection: GuardedConnection): unknown {
  const message = 'the connection closed before the request was written';
  return connection.error ?? (NetworkError ? new NetworkError(message) : new Error(message));
}
