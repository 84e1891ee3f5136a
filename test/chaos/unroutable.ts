/**
 * The `audit` destination of the long-lived scenario, which the harness makes unroutable for part
 * of the run: its queue is deleted, so every `send` to it is returned by RabbitMQ (`mandatory`) and
 * the confirm-channel publisher rejects it (UnroutableError); then the queue is declared again.
 *
 * The `audit` endpoint runs in the harness's process, not in the workers: a worker (re)starting
 * during the window would declare the queue again, and so would a consumer the broker cancels.
 * Before the queue is deleted its consumer is stopped and it must be empty, its retry queues too
 * (a delayed retry dead-letters back to the queue, and into nothing while it is gone), so the
 * deletion itself loses no message.
 */
import amqplib from 'amqplib';
import { Endpoint, type Logger, RabbitMqTransport } from '../../src/index.js';
import { type ChaosBroker } from './cluster.js';
import { AUDIT_ENDPOINT, ChaosAuditor } from './long-lived.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The audit endpoint's delayed retries, as its retry queues are named. */
const DELAYS = ['1s', '5s', '20s'] as const;
const RETRY_DELAYS = ['1000ms', '5000ms', '20000ms'];

/** The audit endpoint and its queue, up (declared and consumed) or down (deleted). */
export class AuditDestination {
  private running?: { endpoint: Endpoint; transport: RabbitMqTransport };
  /** Times (ms since the epoch) the queue was deleted and declared again. */
  readonly windows: { from: number; to?: number }[] = [];

  constructor(
    private readonly broker: ChaosBroker,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {}

  get queue(): string {
    return `${this.prefix}${AUDIT_ENDPOINT}`;
  }

  /** Declares the queue (ending a window) and consumes it. */
  async up(): Promise<void> {
    if (this.running) return;
    const transport = new RabbitMqTransport({
      url: this.broker.url,
      prefix: this.prefix,
      connectionName: `${this.prefix}audit`,
      logger: this.logger,
      reconnect: { initialDelay: '100ms', maxDelay: '2s' },
    });
    const endpoint = new Endpoint({
      name: AUDIT_ENDPOINT,
      transport,
      handlers: [ChaosAuditor],
      concurrency: 8,
      logger: this.logger,
      recoverability: { immediateRetries: 2, delays: DELAYS },
    });
    for (let attempt = 1; ; attempt++) {
      try {
        await endpoint.start();
        break;
      } catch (error) {
        if (attempt >= 30) throw error;
        await sleep(500); // a broker close in the middle of the declaration
      }
    }
    this.running = { endpoint, transport };
    const open = this.windows.at(-1);
    if (open && open.to === undefined) open.to = Date.now();
  }

  /**
   * Waits (consuming) until the queue is empty, stops the consumer, then deletes the queue if it and
   * its retry queues are still empty (once the consumer is stopped nothing enters the retry
   * queues); otherwise consumes again and repeats. Resolves when the queue is gone.
   */
  async down(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await this.waitForEmpty(30_000);
      await this.stopConsuming();
      if (await this.tryDelete()) {
        this.windows.push({ from: Date.now() });
        return;
      }
      if (attempt >= 100) throw new Error(`could not empty ${this.queue} to delete it`);
      await this.up();
    }
  }

  /** Stops for good (the end of the run). */
  async close(): Promise<void> {
    await this.stopConsuming();
  }

  private async stopConsuming(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    if (!running) return;
    await running.endpoint.stop();
    await running.transport.close();
  }

  /** Ready messages in the queue and its retry queues; undefined on a broker fault. */
  private async waiting(): Promise<number | undefined> {
    let connection: amqplib.ChannelModel | undefined;
    try {
      connection = await amqplib.connect(this.broker.url);
      connection.on('error', () => {});
      let total = 0;
      for (const name of [this.queue, ...RETRY_DELAYS.map((d) => `${this.queue}.retry.${d}`)]) {
        // A passive check of a queue that does not exist closes its channel: one channel each.
        const channel = await connection.createChannel();
        channel.on('error', () => {});
        try {
          total += (await channel.checkQueue(name)).messageCount;
          await channel.close();
        } catch (error) {
          if ((error as { code?: number }).code !== 404) throw error;
        }
      }
      return total;
    } catch {
      return undefined;
    } finally {
      await connection?.close().catch(() => {});
    }
  }

  /** Waits, up to `ms`, until the queue and its retry queues are empty (the consumer running). */
  private async waitForEmpty(ms: number): Promise<void> {
    for (const until = Date.now() + ms; Date.now() < until;) {
      if ((await this.waiting()) === 0) return;
      await sleep(200);
    }
  }

  /** Deletes the queue if it and its retry queues hold nothing; false if they do (or on a broker fault). */
  private async tryDelete(): Promise<boolean> {
    if ((await this.waiting()) !== 0) return false;
    let connection: amqplib.ChannelModel | undefined;
    try {
      connection = await amqplib.connect(this.broker.url);
      connection.on('error', () => {});
      const channel = await connection.createChannel();
      channel.on('error', () => {});
      // if-empty: a send that arrived since the count above keeps the queue (and this fails).
      await channel.deleteQueue(this.queue, { ifEmpty: true });
      return true;
    } catch {
      return false;
    } finally {
      await connection?.close().catch(() => {});
    }
  }
}
