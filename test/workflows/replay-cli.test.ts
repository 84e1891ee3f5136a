/**
 * `longhaul workflows export|replay` on the real services: an instance runs on an endpoint over
 * RabbitMQ + FerretDB with the v1 code, its history is exported from the store and replayed
 * against v1 (clean) and the reordered v2 (divergence with its position), in-process through
 * `main()` and once as a separate process.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Endpoint,
  MongoSagaStore,
  MongoTimeoutStore,
  RabbitMqTransport,
  silentLogger,
} from '../../src/index.js';
import { type CliIo, main } from '../../src/cli/main.js';
import { eventually } from '../conformance/transport.js';
import { createAccount, ran, sendWelcome } from './replay-cli/shared.js';
import { Onboarding } from './replay-cli/v1.js';

const tag = randomUUID().slice(0, 8);
const mongoUrl = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';
const database = `lh_wfcli_${tag}`;
const V1 = 'test/workflows/replay-cli/v1.ts';
const V2 = 'test/workflows/replay-cli/v2.ts';
const id = `onboarding-${tag}`;
let endpoint: Endpoint;
let transport: RabbitMqTransport;
let dir: string;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), env: {} };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const store = ['--mongo', mongoUrl, '--database', database];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'longhaul-replay-'));
  transport = new RabbitMqTransport({
    url: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    prefix: `wfcli-${tag}.`,
  });
  endpoint = new Endpoint({
    name: 'onboarding',
    transport,
    sagaStore: new MongoSagaStore({ url: mongoUrl, database, logger: silentLogger }),
    timeoutStore: new MongoTimeoutStore({ url: mongoUrl, database, logger: silentLogger }),
    workflows: [Onboarding],
    activities: [createAccount, sendWelcome],
    logger: silentLogger,
  });
  await endpoint.start();
  await endpoint.workflows.start(Onboarding, 'ada@example.com', { id });
  await eventually(
    async () => (await endpoint.workflows.status(id))?.pending.some((p) => p.op === 'event') ?? false,
    60_000,
    'the instance waits for the verification',
  );
});

afterAll(async () => {
  await endpoint.stop();
  await transport.deleteDeclaredTopology();
  await endpoint.close();
  const mongo = new MongoClient(mongoUrl);
  await mongo.db(database).dropDatabase();
  await mongo.close();
  await rm(dir, { recursive: true, force: true });
});

describe('longhaul workflows export|replay (CLI) on RabbitMQ + FerretDB', () => {
  it('exports a stored history; it replays against v1 and diverges against the reordered v2, with the position', async () => {
    const file = join(dir, 'onboarding.json');
    const exported = await cli('workflows', 'export', '--id', id, '--out', file, ...store);
    expect(exported).toMatchObject({ code: 0, err: '' });
    const history = JSON.parse(await readFile(file, 'utf8'));
    expect(history).toMatchObject({
      format: 'longhaul.workflow-history/1',
      instanceId: id,
      status: 'running',
    });
    expect(history).toEqual(await endpoint.workflows.history(id));

    const before = { ...ran };
    const clean = await cli('workflows', 'replay', '--module', V1, '--file', file);
    expect(clean.code).toBe(0);
    expect(clean.out).toContain(`ok ${id} (cli.Onboarding, running, 6 events): replays all 6 events`);
    expect(clean.out).toContain('1 histories: 1 replay, 0 diverged');

    const changed = await cli('workflows', 'replay', '--module', V2, '--file', file);
    expect(changed.code).toBe(1);
    expect(changed.out).toContain(
      `DIVERGED ${id} (cli.Onboarding, running, 6 events): mismatch at history event 3, position 1`,
    );
    expect(changed.out).toContain("history holds: activity 'cli.SendWelcome'");
    expect(changed.out).toContain("code asks for: waitForEvent 'cli.EmailVerified'");
    expect(ran).toEqual(before); // replay ran no activity
  });

  it('replays straight from the store by --id and --running, and as JSON', async () => {
    const byId = await cli('workflows', 'replay', '--module', V2, '--id', id, ...store);
    expect(byId.code).toBe(1);
    expect(byId.out).toContain('position 1');
    const running = await cli('workflows', 'replay', '--module', V1, '--running', '--json', ...store);
    expect(running.code).toBe(0);
    const parsed = JSON.parse(running.out);
    expect(parsed.results).toMatchObject([{ ok: true, instanceId: id, ending: 'waiting' }]);
    const missing = await cli('workflows', 'replay', '--module', V1, '--id', 'nobody', ...store);
    expect(missing).toMatchObject({ code: 1, err: "Not found: workflow instance 'nobody'" });
  });

  it('exports every running instance of a type to a directory, then replays the directory', async () => {
    const out = join(dir, 'running');
    const exported = await cli(
      'workflows',
      'export',
      '--running',
      '--type',
      'cli.Onboarding',
      '--out',
      out,
      ...store,
    );
    expect(exported.code).toBe(0);
    expect(await readdir(out)).toEqual([`${id}.json`]);
    expect((await cli('workflows', 'replay', '--module', V1, '--dir', out, '--parallel', '1')).code).toBe(0);
    expect((await cli('workflows', 'replay', '--module', V2, '--dir', out)).code).toBe(1);
  });

  it('bad arguments exit with 2 and say what is wrong', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ format: 'longhaul.workflow-history/1', instanceId: 'x' }));
    const cases: [string[], RegExp][] = [
      [['workflows', 'replay', '--file', file], /--module/],
      [['workflows', 'replay', '--module', V1], /--file, --dir, --id or --running/],
      [
        ['workflows', 'replay', '--module', 'test/workflows/replay-cli/shared.ts', '--file', file],
        /No @Workflow class/,
      ],
      [
        ['workflows', 'replay', '--module', V1, '--file', file],
        /bad\.json: Invalid workflow history: workflowType: missing/,
      ],
      [['workflows', 'replay', '--module', V1, '--file', join(dir, 'none.json')], /Cannot read/],
      [['workflows', 'replay', '--module', V1, '--id', id], /--mongo/],
      [['workflows', 'export', '--running', ...store], /--type/],
      [['workflows', 'replay', '--module', V1, '--out', 'x', '--file', file], /takes no --out/],
      [['workflows', 'rewind'], /Unknown command 'workflows rewind'/],
      [['workflows', 'replay', '--module', V1, '--file', file, '--parallel', 'many'], /--parallel must be/],
    ];
    for (const [argv, message] of cases) {
      const run = await cli(...argv);
      expect(run.code, argv.join(' ')).toBe(2);
      expect(run.err).toMatch(message);
    }
  });

  it('runs as a process: exit code 1 and the report on divergence, 0 when clean', async () => {
    const file = join(dir, 'process.json');
    await writeFile(file, JSON.stringify(await endpoint.workflows.history(id)));
    const run = (module: string) =>
      promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', 'workflows', 'replay', '--module', module, '--file', file],
        {
          env: { ...process.env, MONGODB_URL: '' },
        },
      ).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
      );
    const [v1, v2] = await Promise.all([run(V1), run(V2)]);
    expect(v1.code).toBe(0);
    expect(v2.code).toBe(1);
    expect(v2.stdout).toContain('mismatch at history event 3, position 1');
  }, 60_000);
});
