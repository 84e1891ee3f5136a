/**
 * The processes and broker state a chaos run owns: its own FerretDB instance (scripts/test-store.sh
 * on separate ports, state dir and PostgreSQL database, so stopping it never touches the default
 * test store), its own RabbitMQ vhost (so closing "every connection" closes only the run's), and the
 * worker child processes (spawned like test/integration/processes).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { type WorkerStats } from './worker.js';

const exec = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;

/** Runs a command (bounded by `timeoutMs`) and returns its stdout. */
export async function run(
  file: string,
  args: readonly string[],
  env = {},
  timeoutMs = 120_000,
): Promise<string> {
  const { stdout } = await exec(file, [...args], {
    cwd: root,
    env: { ...process.env, ...env },
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** The run's own FerretDB (gated port `port`, direct port `port + 1`). */
export class ChaosStore {
  readonly url: string;
  private readonly env: Record<string, string>;

  constructor(readonly port: number) {
    this.url = `mongodb://127.0.0.1:${port}/`;
    this.env = {
      LONGHAUL_STORE_PORT: String(port),
      LONGHAUL_STORE_DIRECT_PORT: String(port + 1),
      LONGHAUL_STORE_DIR: `/tmp/longhaul-chaos-store-${port}`,
      LONGHAUL_STORE_PG_DB: `ferretdb_chaos_${port}`,
    };
  }

  async start(): Promise<void> {
    await run('bash', ['scripts/test-store.sh', 'start'], this.env, 20 * 60_000);
  }

  async stop(): Promise<void> {
    await run('bash', ['scripts/test-store.sh', 'stop'], this.env);
  }
}

/**
 * The run's RabbitMQ vhost: on the local broker, or on a cluster (`nodes`: the AMQP URLs of its
 * nodes, and the node names rabbitmqctl should try, running ones first).
 */
export class ChaosBroker {
  /** The vhost's URL on each node (one on the local broker). */
  readonly urls: string[];

  constructor(
    readonly vhost: string,
    base: string | readonly string[] = 'amqp://guest:guest@127.0.0.1:5672',
    private readonly controlNodes?: () => string[],
  ) {
    const bases = typeof base === 'string' ? [base] : base;
    this.urls = bases.map((b) => `${b.replace(/\/+$/, '')}/${encodeURIComponent(vhost)}`);
  }

  /** The vhost's URL on the first node. */
  get url(): string {
    return this.urls[0]!;
  }

  /** rabbitmqctl on the local broker, or on the first cluster node that answers. */
  private async ctl(args: string[]): Promise<string> {
    const nodes = this.controlNodes?.();
    if (!nodes) return run('rabbitmqctl', args);
    let last: unknown;
    for (const node of nodes) {
      try {
        return await run('rabbitmqctl', ['-n', node, ...args]);
      } catch (error) {
        last = error;
      }
    }
    throw last;
  }

  async create(): Promise<void> {
    await this.ctl(['-q', 'add_vhost', this.vhost]);
    await this.ctl(['-q', 'set_permissions', '-p', this.vhost, 'guest', '.*', '.*', '.*']);
  }

  /** The broker closes every connection in the run's vhost (workers' and the driver's); returns how many. */
  async closeAllConnections(): Promise<number> {
    const out = await this.ctl(['close_all_connections', '-p', this.vhost, 'chaos']);
    return Number(/Closed (\d+) connections/.exec(out)?.[1] ?? 0);
  }

  /** Messages ready or unacknowledged in every queue of the vhost, by queue name. */
  async queueDepths(): Promise<Record<string, number>> {
    const out = await this.ctl([
      '-q',
      'list_queues',
      '-p',
      this.vhost,
      '--no-table-headers',
      'name',
      'messages',
    ]);
    const depths: Record<string, number> = {};
    for (const line of out.split('\n')) {
      const [name, messages] = line.trim().split(/\s+/);
      if (name && messages !== undefined) depths[name] = Number(messages);
    }
    return depths;
  }

  async delete(): Promise<void> {
    await this.ctl(['-q', 'delete_vhost', this.vhost]);
  }
}

export interface WorkerEnv {
  /** The scenario the workers run (`LH_SCENARIO`). */
  scenario: string;
  /** The broker's URLs (a cluster's nodes): each worker gets them all, starting at a different one. */
  rabbitUrls: readonly string[];
  /** The queue type the workers declare (`quorum` on a cluster). */
  queueType: 'classic' | 'quorum';
  mongoUrl: string;
  database: string;
  prefix: string;
  endpoint: string;
  overdue: string;
  logDir: string;
}

/** One worker child process. */
export class WorkerProcess {
  stats?: WorkerStats;
  private readonly lines: ((line: string) => void)[] = [];
  readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    log: WriteStream,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.stderr?.pipe(log);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('stats ')) this.stats = JSON.parse(line.slice(6)) as WorkerStats;
      for (const listener of [...this.lines]) listener(line);
    });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private static spawned = 0;

  static async spawn(name: string, env: WorkerEnv, readyMs = 60_000): Promise<WorkerProcess> {
    mkdirSync(env.logDir, { recursive: true });
    // Each worker starts at the next node, as a load balancer would spread them.
    const first = WorkerProcess.spawned++ % env.rabbitUrls.length;
    const urls = [...env.rabbitUrls.slice(first), ...env.rabbitUrls.slice(0, first)];
    const log = createWriteStream(`${env.logDir}/${name}.log`, { flags: 'a' });
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/chaos/worker.ts'], {
      cwd: root,
      env: {
        ...process.env,
        LH_RABBITMQ_URL: urls.join(','),
        LH_QUEUE_TYPE: env.queueType,
        LH_MONGODB_URL: env.mongoUrl,
        LH_DATABASE: env.database,
        LH_PREFIX: env.prefix,
        LH_ENDPOINT: env.endpoint,
        LH_WORKER: name,
        LH_CHAOS_OVERDUE: env.overdue,
        LH_SCENARIO: env.scenario,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const worker = new WorkerProcess(name, child, log);
    const ready = await worker.waitFor((line) => line === 'ready', readyMs);
    if (!ready) {
      child.kill('SIGKILL');
      throw new Error(`worker ${name} was not ready within ${readyMs} ms (see ${env.logDir}/${name}.log)`);
    }
    return worker;
  }

  /** Resolves with the first line matching `predicate`, or undefined after `ms` or on exit. */
  waitFor(predicate: (line: string) => boolean, ms: number): Promise<string | undefined> {
    return new Promise((resolve) => {
      let settled = false;
      const done = (line: string | undefined): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.lines.splice(this.lines.indexOf(listener), 1);
        resolve(line);
      };
      const listener = (line: string): void => {
        if (predicate(line)) done(line);
      };
      const timer = setTimeout(() => done(undefined), ms);
      this.lines.push(listener);
      void this.exited.then(() => done(undefined));
    });
  }

  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (graceful drain), SIGKILL after `ms`. */
  async stop(ms = 15_000): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    await this.exited;
    clearTimeout(timer);
  }
}
