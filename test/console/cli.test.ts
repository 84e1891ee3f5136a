/** `longhaul console`: its arguments, and a run on RabbitMQ + FerretDB with the URLs redacted. */
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { type CliIo } from '../../src/cli/io.js';

function captured(): CliIo & { lines: string[] } {
  const lines: string[] = [];
  return { lines, out: (t) => lines.push(t), err: (t) => lines.push(t), env: {} };
}

describe('longhaul console', () => {
  it('wrong arguments exit 2 with a message naming the option', async () => {
    const io = captured();
    expect(await main(['console'], io)).toBe(2);
    expect(io.lines.join('\n')).toMatch(/Say where the instances are: --mongo/);
    expect(await main(['console', '--mongo', 'mongodb://h', '--port', 'eighty'], io)).toBe(2);
    expect(io.lines.join('\n')).toMatch(/--port must be an integer/);
    expect(await main(['console', '--mongo', 'mongodb://h', '--colour', 'red'], io)).toBe(2);
    expect(await main(['console', '--mongo', 'mongodb://h', 'extra'], io)).toBe(2);
    expect(await main(['console', '--help'], io)).toBe(0);
    expect(io.lines.join('\n')).toMatch(/Usage: longhaul console/);
  });

  it('serves the console on the services until stopped, with passwords redacted', async () => {
    const { consoleCommand } = await import('../../src/cli/console.js');
    const amqp = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
    const mongo = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';
    const database = `lh_console_cli_${randomUUID().slice(0, 8)}`;
    const io = captured();
    let served: { total: number } | undefined;
    let page = '';
    const code = await consoleCommand(
      ['--amqp', amqp, '--mongo', mongo, '--database', database, '--port', '0'],
      io,
      async () => {
        const url = /on (http:\/\/\S+\/)/.exec(io.lines.join('\n'))?.[1] as string;
        served = ((await (await fetch(`${url}api/overview`)).json()) as { counts: { total: number } }).counts;
        page = await (await fetch(url)).text();
      },
    );
    expect(code).toBe(0);
    expect(served?.total).toBe(0);
    const shown = io.lines.join('\n');
    expect(shown).toMatch(/broker amqp:\/\/guest:\*\*\*@/);
    expect(shown).not.toMatch(/guest:guest/);
    expect(page).toContain('amqp://guest:***@');
    expect(page).not.toContain('guest:guest');
    const client = new MongoClient(mongo);
    await client.db(database).dropDatabase();
    await client.close();
  });
});
