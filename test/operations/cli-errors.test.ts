/** `longhaul errors delete` and filtered replay on RabbitMQ, recorded in FerretDB; the shared flags and environment. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Import, importer } from './fixtures.js';
import { amqpUrl, cli, type ServicesBed, startServices, until } from './services.js';

describe('longhaul errors delete and filters (CLI, RabbitMQ + FerretDB)', () => {
  let bed: ServicesBed;
  const ids: string[] = [];

  beforeAll(async () => {
    bed = await startServices('cli-err');
    importer.failing = true;
    importer.handled.length = 0;
    for (const file of ['a.csv', 'b.csv', 'c.csv']) {
      ids.push(await bed.endpoint.bus.send(new Import(file), { to: bed.name }));
    }
    await until(async () => (await bed.transport.errorQueues.count(bed.name)) === 3, 'three failed imports');
  });
  afterAll(() => bed?.dispose());

  it('deletes by id (JSON) and by filter (text), replays by filter, each recorded with reason and actor', async () => {
    // The environment instead of flags: RABBITMQ_URL, LONGHAUL_PREFIX, MONGODB_URL, LONGHAUL_DATABASE.
    const env = {
      RABBITMQ_URL: amqpUrl,
      LONGHAUL_PREFIX: bed.prefix,
      MONGODB_URL: bed.flags[5]!,
      LONGHAUL_DATABASE: bed.database,
      USER: 'ada',
    };
    const listed = await cli(env, 'errors', 'list', bed.name, '--json');
    expect(
      (JSON.parse(listed.out) as { messageId: string; type: string }[]).map((m) => [m.messageId, m.type]),
    ).toEqual(ids.map((id) => [id, 'ops.Import']));
    const byId = await cli(
      env,
      'errors',
      'delete',
      bed.name,
      '--id',
      ids[0]!,
      '--id',
      'gone',
      '--reason',
      'bad file',
      '--json',
    );
    expect(byId.code).toBe(1);
    expect(JSON.parse(byId.out)).toEqual({
      deleted: [ids[0]],
      missing: ['gone'],
      failed: [],
      recorded: true,
    });
    expect(byId.err).toBe('Not found: gone');

    importer.failing = false;
    const replay = await cli(
      env,
      'errors',
      'replay',
      bed.name,
      '--failure',
      'handler-error',
      '--type',
      'ops.Import',
      '--reason',
      'fixed',
    );
    expect(replay).toMatchObject({
      code: 0,
      out: `Replayed 2 message(s) from the error queue of '${bed.name}'.`,
    });
    await until(async () => importer.handled.length === 2, 'the replayed imports handled');

    importer.failing = true;
    const late = await bed.endpoint.bus.send(new Import('d.csv'), { to: bed.name });
    await until(async () => (await bed.transport.errorQueues.count(bed.name)) === 1, 'one more failure');
    const none = await cli(env, 'errors', 'delete', bed.name, '--failed-before', '2000-01-01T00:00:00Z');
    expect(none.out).toBe(`Deleted 0 message(s) from the error queue of '${bed.name}'.`);
    const flagsOnly = await cli(
      {},
      'errors',
      'delete',
      bed.name,
      '--type',
      'ops.Import',
      '--by',
      'bob',
      '--amqp',
      amqpUrl,
      '--prefix',
      bed.prefix,
      '--mongo',
      bed.flags[5]!,
      '--database',
      bed.database,
    );
    expect(flagsOnly).toMatchObject({
      code: 0,
      out: `Deleted 1 message(s) from the error queue of '${bed.name}'.`,
    });
    expect(await bed.transport.errorQueues.count(bed.name)).toBe(0);

    const type = `error-queue:${bed.name}`;
    const deleted = await bed.ops.instances.actions({ kind: 'saga', type, id: ids[0]! });
    expect(deleted).toEqual([
      expect.objectContaining({ action: 'errors.delete', reason: 'bad file', by: 'ada', outcome: 'done' }),
    ]);
    expect(
      (await bed.ops.instances.actions({ kind: 'saga', type, id: ids[1]! })).map((a) => a.action),
    ).toEqual(['errors.replay']);
    expect((await bed.ops.instances.actions({ kind: 'saga', type, id: late }))[0]).toMatchObject({
      action: 'errors.delete',
      by: 'bob',
    });
  });

  it('explains the selection it needs', async () => {
    const none = await cli({}, 'errors', 'delete', bed.name, '--amqp', amqpUrl, '--prefix', bed.prefix);
    expect(none.code).toBe(2);
    expect(none.err).toContain('Say which messages to delete');
    const both = await cli({}, 'errors', 'delete', bed.name, '--all', '--type', 'x');
    expect(both).toMatchObject({ code: 2, err: 'Use one of --id, --all or the filters, not several.' });
    const badTime = await cli({}, 'errors', 'replay', bed.name, '--failed-before', 'yesterday');
    expect(badTime.err).toContain('--failed-before must be an ISO 8601 time');
    expect((await cli({}, 'errors', 'delete', '--help')).out).toMatch(/^Usage: longhaul errors delete/);
  });
});
