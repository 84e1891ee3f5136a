/** `longhaul errors list|show|replay` against a real error queue, run in-process through `main()`. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Command, type Handler, HandlerFor } from '../../../src/index.js';
import { type CliIo, main } from '../../../src/cli/main.js';
import { eventually, TestBed, url } from './support.js';

@Command('it.cli.Import')
class Import {
  constructor(readonly file: string) {}
}

const handled: string[] = [];
let failing = true;

@HandlerFor(Import)
class Importer implements Handler<Import> {
  handle(message: Import): void {
    if (failing) throw new Error(`cannot read ${message.file}`);
    handled.push(message.file);
  }
}

interface Run {
  code: number;
  out: string;
  err: string;
}

async function cli(...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (text) => void out.push(text), err: (text) => void err.push(text), env: {} };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('longhaul errors (CLI)', () => {
  let bed: TestBed;
  let ids: string[];
  let connection: string[];

  beforeEach(async () => {
    bed = new TestBed();
    handled.length = 0;
    failing = true;
    connection = ['--url', url, '--prefix', bed.prefix];
    const transport = bed.transport();
    const endpoint = bed.endpoint(transport, {
      name: 'imports',
      handlers: [Importer],
      recoverability: { immediateRetries: 0, delays: [] },
    });
    await endpoint.start();
    ids = [await endpoint.bus.send(new Import('a.csv')), await endpoint.bus.send(new Import('b.csv'))];
    await eventually(async () => (await transport.errorQueues.count('imports')) === 2, 'two failed imports');
    failing = false;
  });
  afterEach(() => bed.dispose());

  it('lists, shows and replays failed messages', async () => {
    const list = await cli('errors', 'list', 'imports', ...connection);
    expect(list).toMatchObject({ code: 0, err: '' });
    expect(list.out).toContain('MESSAGE ID');
    for (const id of ids) expect(list.out).toContain(id);
    expect(list.out).toContain('Error: cannot read a.csv');
    expect(list.out).toContain('2 message(s)');

    const json = await cli('errors', 'list', 'imports', '--json', '--limit', '1', ...connection);
    expect(JSON.parse(json.out)).toEqual([
      expect.objectContaining({ messageId: ids[0], reason: 'handler-error', attempts: 1, source: 'imports' }),
    ]);

    const show = await cli('errors', 'show', 'imports', ids[1] as string, ...connection);
    expect(show.code).toBe(0);
    expect(show.out).toContain('Reason:   handler-error');
    expect(show.out).toContain('"file": "b.csv"');
    expect((await cli('errors', 'show', 'imports', 'no-such-id', ...connection)).code).toBe(1);

    const one = await cli('errors', 'replay', 'imports', '--id', ids[0] as string, ...connection);
    expect(one).toMatchObject({ code: 0, out: "Replayed 1 message(s) from the error queue of 'imports'." });
    await eventually(() => handled.includes('a.csv'), 'a.csv imported');

    const rest = await cli('errors', 'replay', 'imports', '--all', ...connection);
    expect(rest.code).toBe(0);
    await eventually(() => handled.includes('b.csv'), 'b.csv imported');
    expect((await cli('errors', 'list', 'imports', ...connection)).out).toContain('is empty');

    const missing = await cli('errors', 'replay', 'imports', '--id', 'gone', ...connection);
    expect(missing).toMatchObject({ code: 1, err: 'Not found: gone' });
  });

  it('explains its usage on --help and on wrong arguments', async () => {
    for (const argv of [
      ['--help'],
      ['errors', '--help'],
      ['errors', 'list', '--help'],
      ['errors', 'show', '-h'],
      ['errors', 'replay', '--help'],
    ]) {
      const run = await cli(...argv);
      expect(run.code, argv.join(' ')).toBe(0);
      expect(run.out, argv.join(' ')).toMatch(/^Usage: longhaul/);
    }
    const noSelection = await cli('errors', 'replay', 'imports', ...connection);
    expect(noSelection.code).toBe(2);
    expect(noSelection.err).toContain(
      '--id <messageId> (repeatable), --all, or --failure/--type/--failed-before',
    );
    expect((await cli('errors', 'list')).code).toBe(2);
    expect((await cli('errors', 'list', 'imports', '--all')).code).toBe(2);
    expect((await cli('errors', 'purge', 'imports')).code).toBe(2);
    expect((await cli('nonsense')).code).toBe(2);
  });

  it('reports connection problems without the password, and unknown endpoints', async () => {
    const bad = new URL(url);
    bad.password = 'hunter2-wrong';
    const denied = await cli('errors', 'list', 'imports', '--url', bad.href);
    expect(denied.code).toBe(1);
    expect(denied.err).toContain('refused the login');
    expect(denied.err).not.toContain('hunter2');

    const unknown = await cli('errors', 'list', 'nobody', ...connection);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain(`No error queue '${bed.prefix}nobody.error'`);
  });
});
