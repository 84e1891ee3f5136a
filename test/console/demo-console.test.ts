import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('npm run demo -- --console', () => {
  it('serves the console over the demo’s in-memory instances and stops on SIGINT', async () => {
    const demo = spawn(process.execPath, ['--import', 'tsx', 'samples/demo.ts', '--console', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    const exited = new Promise<number | null>((resolve) => demo.once('exit', resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        demo.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString('utf8');
          const found = /Console: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
          if (found) resolve(found[1] as string);
        });
        demo.once('exit', (code) => reject(new Error(`the demo exited (${code}):\n${output}`)));
      });
      const overview = (await (await fetch(`${url}api/overview`)).json()) as {
        counts: { total: number; groups: { type: string; status: string; count: number }[] };
        errorQueues: { endpoint: string; depth: number }[];
      };
      expect(overview.counts.total).toBe(4);
      expect(overview.counts.groups).toContainEqual({
        kind: 'saga',
        type: 'OrderFulfilment',
        status: 'active',
        count: 1,
      });
      expect(overview.errorQueues).toEqual([{ endpoint: 'shop', depth: 1 }]);
      const found = (await (await fetch(`${url}api/instances?id=slow-3`)).json()) as {
        items: { id: string; status: string }[];
      };
      expect(found.items.map((i) => i.status)).toEqual(['active']);
      const page = await (await fetch(`${url}instances/saga/OrderFulfilment/${found.items[0]?.id}`)).text();
      expect(page).toContain('shop.PaymentOverdue');
      const labelled = (await (await fetch(`${url}api/instances?label=customer%3Dada`)).json()) as {
        items: { id: string; status: string }[];
      };
      expect(labelled.items).toMatchObject([{ id: 'gift-o-1', status: 'running' }]);
      const signalled = await fetch(`${url}api/instances/workflow/demo.GiftCard/gift-o-1/actions/signal`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ eventType: 'demo.GiftCardClaimed', payload: { by: 'ada' } }),
      });
      expect(signalled.status).toBe(200);
      await expect
        .poll(
          async () =>
            (
              (await (await fetch(`${url}api/instances/workflow/demo.GiftCard/gift-o-1`)).json()) as {
                status: string;
              }
            ).status,
        )
        .toBe('completed');
    } finally {
      demo.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(output).toMatch(/Done at .* Error queue: 1 message/);
  });
});
