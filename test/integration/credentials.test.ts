/**
 * Credentials never leak: an endpoint on RabbitMQ with a password in its URL (a user this test
 * creates with rabbitmqctl and deletes after) and the MongoDB stores, through start, traffic, a
 * forced reconnection and stop; then the failure paths — a wrong RabbitMQ password, an unreachable
 * broker, an unreachable MongoDB and one that refuses the login, URLs that do not parse. Every log
 * line (a recording Logger given to the endpoint, transport and stores), everything written to
 * stdout/stderr meanwhile, and every thrown error (message, stack, causes, `util.inspect`, JSON)
 * is searched for the password, raw and percent-encoded.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { inspect, promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Command,
  ConfigurationError,
  Endpoint,
  Handles,
  type Logger,
  MongoSagaStore,
  MongoStoreUnavailableError,
  MongoTimeoutStore,
  Saga,
  type SagaContext,
  StartedBy,
} from '../../src/index.js';
import { RabbitMqConnectionError, RabbitMqTransport } from '../../src/bus/rabbitmq/index.js';
import { dropConnections, eventually, sleep, TestBed, url as rabbitUrl } from './rabbitmq/support.js';

const run = promisify(execFile);
const mongoUrl = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';

/** Every secret used below; none may appear anywhere, in any encoding. */
const secrets: string[] = [];
/** A distinctive password with characters a URL must percent-encode (`:`, `@`, `/`, `#`, `%`). */
function password(label: string): string {
  const secret = `${label}:Pw@${randomBytes(6).toString('hex')}/S3cr3t#%`;
  secrets.push(secret);
  return secret;
}
function forms(secret: string): string[] {
  return [
    secret,
    encodeURIComponent(secret),
    // The core of it, in case a message cuts or re-encodes the ends.
    secret.split(':')[1]?.split('/')[0] ?? secret,
    Buffer.from(secret).toString('base64'),
    // As `util.inspect` prints a Buffer (e.g. an AMQP PLAIN response kept in memory).
    [...Buffer.from(secret.slice(0, 12))].map((b) => b.toString(16).padStart(2, '0')).join(' '),
  ];
}

/** A Logger that records every line, fields rendered in full (errors with their stacks). */
class RecordingLogger implements Logger {
  readonly lines: string[] = [];
  private record(level: string, message: string, fields?: Record<string, unknown>): void {
    this.lines.push(`${level} ${message} ${fields ? inspect(fields, { depth: 8 }) : ''}`);
  }
  debug(message: string, fields?: Record<string, unknown>): void {
    this.record('debug', message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.record('info', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.record('warn', message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.record('error', message, fields);
  }
}

/** Everything an error shows: message, stack, causes (recursively), `util.inspect` and JSON. */
function errorText(error: unknown, depth = 0): string {
  if (depth > 8 || error === undefined || error === null) return String(error);
  const parts = [inspect(error, { depth: 8, showHidden: false })];
  if (error instanceof Error) {
    parts.push(error.message, error.stack ?? '', String(error));
    try {
      parts.push(JSON.stringify(error));
    } catch {
      /* circular: inspect covered it */
    }
    parts.push(errorText(error.cause, depth + 1));
    if (error instanceof AggregateError)
      for (const inner of error.errors) parts.push(errorText(inner, depth + 1));
  }
  return parts.join('\n');
}

/** Captures what is written to stdout and stderr while `work` runs (and keeps it off the console). */
async function captureOutput<T>(sink: string[], work: () => Promise<T>): Promise<T> {
  const writes = [process.stdout.write, process.stderr.write] as const;
  const grab = (chunk: unknown, ...rest: unknown[]): boolean => {
    sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    done?.();
    return true;
  };
  process.stdout.write = grab as typeof process.stdout.write;
  process.stderr.write = grab as typeof process.stderr.write;
  try {
    return await work();
  } finally {
    process.stdout.write = writes[0];
    process.stderr.write = writes[1];
  }
}

function expectNoSecret(texts: readonly string[], where: string): void {
  const haystack = texts.join('\n');
  for (const secret of secrets) {
    for (const form of forms(secret)) {
      expect(haystack.includes(form), `${where} shows the password (as '${form}')`).toBe(false);
    }
  }
}

/** The broker URL of the test, with another user and password. */
function brokerUrl(user: string, secret: string, port?: number): string {
  const at = new URL(rabbitUrl);
  at.username = user;
  // Percent-encoded, as a URL requires (the setter would leave a raw `%`).
  at.password = encodeURIComponent(secret);
  if (port !== undefined) at.port = String(port);
  return at.href;
}

async function rabbitmqctl(...args: string[]): Promise<void> {
  await run('rabbitmqctl', args, { timeout: 20_000 });
}

@Command('cred.Open')
class Open {
  constructor(readonly id: string) {}
}
@Command('cred.Tick')
class Tick {
  constructor(readonly id: string) {}
}

@Saga('CredTicker')
class Ticker {
  @StartedBy(Open, { correlateBy: (m) => m.id })
  open(_m: Open, ctx: SagaContext<{ ticks: number }>): void {
    ctx.state = { ticks: 0 };
  }
  @Handles(Tick, { correlateBy: (m) => m.id })
  tick(_m: Tick, ctx: SagaContext<{ ticks: number }>): void {
    ctx.state.ticks++;
  }
}

describe('credentials never appear in logs or errors', () => {
  const user = `lh_cred_${randomUUID().slice(0, 8)}`;
  const secret = password('right');
  const databases: string[] = [];

  beforeAll(async () => {
    await rabbitmqctl('add_user', user, secret);
    await rabbitmqctl('set_permissions', '-p', '/', user, '.*', '.*', '.*');
  });

  afterAll(async () => {
    await rabbitmqctl('delete_user', user).catch(() => undefined);
    const client = new MongoClient(mongoUrl, { serverSelectionTimeoutMS: 5000 });
    for (const database of databases) await client.db(database).dropDatabase();
    await client.close();
  });

  it('through start, traffic, a forced reconnection and stop of an endpoint whose URL holds a password', async () => {
    const bed = new TestBed();
    const logger = new RecordingLogger();
    const output: string[] = [];
    const texts: string[] = [];
    const database = `lh_cred_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
    databases.push(database);
    const stores = { url: mongoUrl, database, logger };
    const transport = bed.transport({ url: brokerUrl(user, secret), logger });
    const endpoint = bed.endpoint(transport, {
      name: 'cred',
      sagas: [Ticker],
      logger,
      sagaStore: new MongoSagaStore(stores),
      timeoutStore: new MongoTimeoutStore(stores),
    });
    const ticks = async (): Promise<number | undefined> =>
      (
        (await endpoint.sagaStore.findByCorrelation('CredTicker', 't-1'))?.state as
          { ticks: number } | undefined
      )?.ticks;
    try {
      await captureOutput(output, async () => {
        await endpoint.start();
        await endpoint.bus.send(new Open('t-1'));
        // A tick that overtook the start would find no instance (and be logged and dropped).
        await eventually(async () => (await ticks()) === 0, 'the saga started');
        for (let i = 0; i < 3; i++) await endpoint.bus.send(new Tick('t-1'));
        await eventually(async () => (await ticks()) === 3, 'the first three ticks');
        // What a user might print: the options, the transport itself.
        texts.push(
          String(transport.options.url),
          JSON.stringify(transport.options),
          inspect(transport.options, { depth: 4 }),
          transport.options.safeUrl,
          // The transport as a whole, connected: amqplib's objects included.
          inspect(transport, { depth: 12 }),
          inspect(endpoint, { depth: 6 }),
        );
        // The broker drops the connection (as an operator or a node restart would).
        expect(await dropConnections(bed.connectionName, transport, 'broker')).toBeGreaterThan(0);
        await eventually(
          () => logger.lines.some((line) => line.includes('re-established')),
          'the reconnection',
        );
        for (let i = 0; i < 3; i++) await endpoint.bus.send(new Tick('t-1'));
        await eventually(async () => (await ticks()) === 6, 'the ticks after the reconnection');
        await sleep(200);
        expect(await ticks()).toBe(6);
        await endpoint.stop();
        await endpoint.sagaStore.close();
        await endpoint.timeoutStore.close();
      });
    } finally {
      await bed.dispose();
    }
    // The paths ran and logged, with the URL (redacted) and the user name: the search is not vacuous.
    const lost = logger.lines.find((line) => line.includes('connection lost'));
    expect(lost).toBeDefined();
    expect(lost).toContain(`${user}:***@`);
    expect(logger.lines.some((line) => line.includes('endpoint started'))).toBe(true);
    expect(logger.lines.some((line) => line.includes('endpoint stopped'))).toBe(true);
    expect(texts.join('\n')).toContain(`${user}:***@`);
    expectNoSecret(logger.lines, 'a log line');
    expectNoSecret(output, 'stdout/stderr');
    expectNoSecret(texts, 'the printed options');
  });

  it('a wrong RabbitMQ password fails start as an authentication problem, without the password', async () => {
    const wrong = password('wrong');
    const logger = new RecordingLogger();
    const output: string[] = [];
    const transport = new RabbitMqTransport({
      url: brokerUrl(user, wrong),
      logger,
      prefix: `lh-cred-${randomUUID().slice(0, 8)}.`,
    });
    const endpoint = new Endpoint({ name: 'cred-wrong', sagas: [Ticker], transport, logger });
    const error = await captureOutput(output, () =>
      endpoint.start().then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    await transport.close();
    expect(error).toBeInstanceOf(RabbitMqConnectionError);
    expect((error as RabbitMqConnectionError).problem).toBe('authentication');
    expect((error as Error).message).toContain(`'${user}'`);
    expect((error as Error).message).toContain(`${user}:***@`);
    expectNoSecret([errorText(error)], 'the error');
    expectNoSecret(logger.lines, 'a log line');
    expectNoSecret(output, 'stdout/stderr');
  });

  it('an unreachable broker fails start as unreachable, without the password', async () => {
    const logger = new RecordingLogger();
    const transport = new RabbitMqTransport({ url: brokerUrl(user, password('nobroker'), 1), logger });
    const error = await transport.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    await transport.close();
    expect(error).toBeInstanceOf(RabbitMqConnectionError);
    expect((error as RabbitMqConnectionError).problem).toBe('unreachable');
    expectNoSecret([errorText(error)], 'the error');
    expectNoSecret(logger.lines, 'a log line');
  });

  // A known bug (see the issue 7 report): connectionErrorOf() in src/bus/rabbitmq/connection.ts
  // runs decodeURIComponent() on the URL's password, which throws `URIError: URI malformed` for a
  // stray `%` (one the user did not percent-encode; amqplib itself tolerates it): start then
  // fails with that URIError instead of a RabbitMqConnectionError naming the problem. Flips to
  // failing once fixed: then make it a plain `it`.
  it('a password with a stray % still fails start with a RabbitMqConnectionError', async () => {
    const stray = password('stray');
    const transport = new RabbitMqTransport({
      url: `amqp://${user}:${stray.replace(/[:@/#]/g, '')}@127.0.0.1:1/`,
      logger: new RecordingLogger(),
    });
    const error = await transport.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    await transport.close();
    expectNoSecret([errorText(error)], 'the error');
    expect(error).toBeInstanceOf(RabbitMqConnectionError);
  });

  it('inspecting or serialising the MongoDB stores shows where they are, never the password', async () => {
    const secret = password('inspect');
    const options = { url: `mongodb://${user}:${encodeURIComponent(secret)}@127.0.0.1:1/`, database: 'x' };
    const stores = [new MongoSagaStore(options), new MongoTimeoutStore(options)];
    const shown = stores.flatMap((store) => [inspect(store, { depth: 20 }), JSON.stringify({ store })]);
    for (const store of stores) await store.close();
    expect(shown.join('\n')).not.toContain(secret);
    expect(shown.join('\n')).not.toContain(encodeURIComponent(secret));
    expect(shown[0]).toContain('127.0.0.1:1/x');
  });

  it('MongoDB that cannot be reached, or refuses the login, fails start without the password', async () => {
    const mongoAt = new URL(mongoUrl);
    const cases = [
      { what: 'unreachable', host: '127.0.0.1:1' },
      // FerretDB v1 without authentication refuses the SCRAM login the driver attempts.
      { what: 'login refused', host: mongoAt.host },
    ];
    for (const { what, host } of cases) {
      const logger = new RecordingLogger();
      const output: string[] = [];
      const secretHere = password(`mongo-${what.replace(' ', '-')}`);
      const withCredentials = `mongodb://lhuser:${encodeURIComponent(secretHere)}@${host}/`;
      const stores = {
        url: withCredentials,
        database: 'lh_cred_never',
        logger,
        serverSelectionTimeout: '500ms',
      };
      const sagaStore = new MongoSagaStore(stores);
      const endpoint = new Endpoint({
        name: 'cred-mongo',
        sagas: [Ticker],
        logger,
        sagaStore,
        timeoutStore: new MongoTimeoutStore(stores),
      });
      const error = await captureOutput(output, () =>
        endpoint.start().then(
          () => undefined,
          (e: unknown) => e,
        ),
      );
      await sagaStore.close();
      expect(error, what).toBeInstanceOf(MongoStoreUnavailableError);
      expect((error as Error).message, what).toContain(host);
      expectNoSecret([errorText(error)], `the ${what} error`);
      expectNoSecret(logger.lines, `a log line (${what})`);
      expectNoSecret(output, `stdout/stderr (${what})`);
    }
  });

  it('URLs that do not parse are refused at construction, without the password', () => {
    const attempts: [string, () => unknown][] = [
      [
        'amqp, bad host',
        () => new RabbitMqTransport({ url: `amqp://u:${encodeURIComponent(password('badhost'))}@[::1/` }),
      ],
      [
        'amqp, wrong scheme',
        () => new RabbitMqTransport({ url: `http://u:${encodeURIComponent(password('scheme'))}@localhost/` }),
      ],
      [
        'mongodb, bad port',
        () =>
          new MongoSagaStore({
            url: `mongodb://u:${encodeURIComponent(password('mport'))}@localhost:99999/`,
          }),
      ],
      [
        'mongodb, raw secret',
        () => new MongoSagaStore({ url: `mongodb://u:${password('mraw')}@localhost/` }),
      ],
    ];
    for (const [what, attempt] of attempts) {
      let thrown: unknown;
      try {
        attempt();
      } catch (error) {
        thrown = error;
      }
      expect(thrown, what).toBeInstanceOf(ConfigurationError);
      expectNoSecret([errorText(thrown)], `the error (${what})`);
    }
  });
});
