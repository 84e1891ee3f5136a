/** The Getting started page's files, run as the page runs them (docs/getting-started.md). */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { InMemorySagaStore, InMemoryTransport, silentLogger, WorkflowClient } from '../../src/index.js';
import { createCheckout } from '../../samples/getting-started/app.js';
import { OrderPlaced } from '../../samples/getting-started/messages.js';
import { Shipping } from '../../samples/getting-started/shipping-workflow.js';
import { createWebClient } from '../../samples/getting-started/web-client.js';

const run = promisify(execFile);

describe('docs/getting-started.md, in memory', () => {
  it('try-in-memory.ts confirms, charges and ships an order with no service', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'samples/getting-started/try-in-memory.ts'],
      {
        timeout: 90_000,
      },
    );
    expect(stdout).toContain('order o-1: confirmed and shipped, tracking-parcel-o-1');
  }, 120_000);

  it("the page's tsconfig.json (with experimentalDecorators and emitDecoratorMetadata) compiles every file", async () => {
    const tsc = 'node_modules/typescript/bin/tsc';
    const result = await run(process.execPath, [tsc, '-p', 'samples/getting-started/tsconfig.json'], {
      timeout: 240_000,
    }).then(
      () => 'ok',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    expect(result).toBe('ok');
  }, 300_000);
});

describe('docs/getting-started.md, the page itself', () => {
  it('quotes every file of samples/getting-started byte for byte, and every code block but the shell commands is one', () => {
    const page = readFileSync('docs/getting-started.md', 'utf8');
    const quoted = [
      ...page.matchAll(/\[`(samples\/getting-started\/[^`]+)`\]\([^)]*\):\n\n```\w+\n([\s\S]*?)```\n/g),
    ];
    for (const [, file, block] of quoted) expect(block, file).toBe(readFileSync(file!, 'utf8'));
    const files = readdirSync('samples/getting-started').map((f) => `samples/getting-started/${f}`);
    expect(quoted.map((q) => q[1]).sort()).toEqual(files.sort());
    const blocks = [...page.matchAll(/```(\w+)\n/g)].map((m) => m[1]);
    expect(blocks.filter((lang) => lang !== 'sh')).toHaveLength(quoted.length);
  });
});

describe('a send-only client process (web-client.ts)', () => {
  it('starts a checkout workflow on the checkout endpoint and reads its result, declaring no queue', async () => {
    const transport = new InMemoryTransport();
    const sagaStore = new InMemorySagaStore();
    const checkout = createCheckout({ transport, sagaStore, logger: silentLogger });
    const web = createWebClient({ transport, sagaStore, logger: silentLogger });
    await checkout.endpoint.start();
    await web.endpoint.start();
    const client = web.container.get(WorkflowClient);
    await client.start(Shipping, { orderId: 'o-9' }, { id: 'ship-o-9' });
    expect(await client.result('ship-o-9', { timeout: '10s' })).toBe('tracking-parcel-o-9');
    // No queue 'web': a message sent to it is refused.
    await expect(web.endpoint.bus.send(new OrderPlaced('o-9', 1), { to: 'web' })).rejects.toThrow(
      "No endpoint queue 'web'",
    );
    await web.endpoint.stop();
    await checkout.endpoint.stop();
  });
});
