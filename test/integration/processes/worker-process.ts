/**
 * What the worker child processes of the multi-process tests and the contention bench share: their
 * settings from the environment, the `ready` / `owns <json>` lines the parent reads on stdout, and
 * the graceful stop on SIGTERM.
 */
import { type Endpoint } from '../../../src/index.js';

/** The environment variable `name`; throws when it is not set. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/**
 * Starts `endpoint` and prints `ready`; on a partitioned endpoint (`reportPartitions`) also prints
 * `owns <json>` whenever the partitions it consumes change. On SIGTERM: stops the endpoint, runs
 * `beforeExit` (whatever it returns is printed as a line), closes transport and stores and exits 0.
 */
export async function runWorker(
  endpoint: Endpoint,
  options: { reportPartitions?: boolean; beforeExit?: () => Promise<string | void> } = {},
): Promise<void> {
  await endpoint.start();
  process.stdout.write('ready\n');
  if (options.reportPartitions) {
    let owned = '';
    setInterval(() => {
      const now = JSON.stringify([...endpoint.partitions].sort((a, b) => a - b));
      if (now !== owned) process.stdout.write(`owns ${(owned = now)}\n`);
    }, 50).unref();
  }
  process.on('SIGTERM', () => {
    void (async () => {
      await endpoint.stop();
      const line = await options.beforeExit?.();
      if (line) process.stdout.write(`${line}\n`);
      await endpoint.transport.close();
      await endpoint.sagaStore.close();
      await endpoint.timeoutStore.close();
      process.exit(0);
    })();
  });
}
