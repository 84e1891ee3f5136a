/**
 * The RabbitMQ cluster of a chaos run in cluster mode (`--rabbitmq-cluster [--cluster-port P]`):
 * scripts/rabbitmq-cluster.sh on base port P, started for the run (and stopped after it) or reused
 * when it already runs (and then left running). The `node-stop` fault stops one node and restarts
 * it; this class keeps which nodes are down so that rabbitmqctl calls go to a running node, and
 * refuses a second stop while one node is down (the quorum of a 3-node cluster survives one).
 */
import { run } from './cluster.js';

export interface ClusterNode {
  /** 1, 2 or 3. */
  n: number;
  /** The Erlang node name (`rabbitmqctl -n`). */
  name: string;
  /** Its AMQP URL (no vhost). */
  url: string;
}

export class ChaosCluster {
  nodes: ClusterNode[] = [];
  /** Whether this run started the cluster (then it stops it), or found it running. */
  started = false;
  private readonly down = new Set<number>();
  private readonly env: Record<string, string>;

  constructor(readonly port: number) {
    if (!Number.isInteger(port) || port < 1024 || port > 45_000)
      throw new Error(`bad argument cluster-port: ${port} (a port in 1024-45000)`);
    this.env = { LONGHAUL_RMQ_CLUSTER_PORT: String(port) };
  }

  private script(args: string[], timeoutMs = 300_000): Promise<string> {
    return run('bash', ['scripts/rabbitmq-cluster.sh', ...args], this.env, timeoutMs);
  }

  /** Starts the cluster unless it already runs as one; reads its nodes. */
  async start(): Promise<void> {
    const running = await this.script(['status']).then(
      () => true,
      () => false,
    );
    if (!running) {
      await this.script(['start']);
      this.started = true;
    }
    this.nodes = (await this.script(['nodes']))
      .trim()
      .split('\n')
      .map((line) => {
        const [n, name, url] = line.split('\t');
        return { n: Number(n), name: name!, url: url! };
      });
  }

  /** The node names to send rabbitmqctl commands to, running ones first. */
  controlNodes(): string[] {
    const up = this.nodes.filter((node) => !this.down.has(node.n));
    return [...up, ...this.nodes.filter((node) => this.down.has(node.n))].map((node) => node.name);
  }

  /** Stops node `n` (SIGKILL with `kill`), keeping its data; resolves once its process is gone. */
  async stopNode(n: number, kill: boolean): Promise<void> {
    if (this.down.size > 0) throw new Error(`node ${[...this.down].join()} is down already`);
    this.down.add(n);
    await this.script(['stop-node', String(n), ...(kill ? ['--kill'] : [])]);
  }

  /** Boots node `n` again; resolves once the other nodes list it as running. */
  async startNode(n: number): Promise<void> {
    await this.script(['start-node', String(n)]);
    this.down.delete(n);
  }

  /** Stops every node and deletes the cluster's data, if this run started it. */
  async stop(): Promise<void> {
    if (this.started) await this.script(['stop']);
  }
}
