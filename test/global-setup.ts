/**
 * vitest global setup: the tests that need MongoDB read `MONGODB_URL`. When it is not set, this
 * builds (first time only) and starts the project's test store — FerretDB behind its write gate,
 * see scripts/test-store.sh — and points `MONGODB_URL` (gated) and `MONGODB_DIRECT_URL` (raw
 * FerretDB) at it. The store is left running for the next run; `scripts/test-store.sh stop` stops it.
 */
import { execFileSync } from 'node:child_process';

const script = new URL('../scripts/test-store.sh', import.meta.url).pathname;

function store(command: string): string {
  return execFileSync('bash', [script, command], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 20 * 60_000,
  }).trim();
}

export default function setup(): void {
  if (!process.env.MONGODB_URL) {
    store('start');
    process.env.MONGODB_URL = store('url');
    process.env.MONGODB_DIRECT_URL ??= store('direct-url');
  }
  process.env.RABBITMQ_URL ??= 'amqp://guest:guest@127.0.0.1:5672';
}
