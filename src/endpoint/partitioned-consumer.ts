/**
 * The consumer of a partitioned endpoint: this process's share of the N partitions, held by leases
 * (`PartitionLeases`) and consumed one message at a time each.
 *
 * Every third of the lease period it renews its membership, reads the live members, and works out
 * its fair share: partition p is this member's when the sorted live members have it at index
 * p mod K. It claims the partitions of its share it does not hold yet and starts consuming each
 * (concurrency 1), renews the leases of those it keeps, and for those no longer its share (a member
 * joined) it stops consuming, waits for the handling in flight, then releases the lease, so the
 * new owner starts after the old one finished. The partitions of a member that died are claimed
 * by their new owner once their lease expired. A partition whose lease could not be renewed for a
 * whole lease period is given up (another member may hold it by then).
 *
 * The broker's single active consumer on each partition queue guards delivery whatever the
 * leases say; the leases only spread the partitions over the processes.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type Consumer, type DeliveryHandler, type Transport } from '../bus/transport.js';
import { type PartitionLeases } from '../persistence/partition-leases.js';
import { type Logger } from '../util/logger.js';

/** Deliveries a partition's consumer holds (handled one at a time) when the transport has prefetch. */
export const PARTITION_PREFETCH = 8;

/** What a {@link PartitionedConsumer} works with. */
export interface PartitionedConsumerParts {
  readonly transport: Transport;
  readonly leases: PartitionLeases;
  readonly endpoint: string;
  readonly partitions: number;
  readonly leaseMs: number;
  readonly handler: DeliveryHandler;
  readonly logger: Logger;
}

/** The partitions of `partitions` that `member` should own among the sorted live `members`. */
export function fairShare(members: readonly string[], member: string, partitions: number): number[] {
  const index = members.indexOf(member);
  if (index < 0) return [];
  const share: number[] = [];
  for (let p = index; p < partitions; p += members.length) share.push(p);
  return share;
}

interface Held {
  readonly consumer: Consumer;
  renewedAt: number;
}

/** See the file header. */
export class PartitionedConsumer implements Consumer {
  /** This member's id in the leases: host, pid and a random part. */
  readonly member = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly held = new Map<number, Held>();
  private timer?: NodeJS.Timeout;
  private round?: Promise<void>;
  private stopping = false;

  constructor(private readonly parts: PartitionedConsumerParts) {}

  /** The partitions this process consumes now. */
  get owned(): ReadonlySet<number> {
    return new Set(this.held.keys());
  }

  /** Joins, takes what is free of its share at once, then keeps rebalancing every third of the lease. */
  async start(): Promise<void> {
    await this.parts.leases.init();
    await this.rebalance();
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(this.parts.leaseMs / 3)));
    this.timer.unref();
  }

  /** Stops consuming every partition (draining the handling in flight), releases them and leaves. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.timer);
    await this.round;
    const { leases, endpoint } = this.parts;
    await Promise.all([...this.held.keys()].map((p) => this.giveUp(p, true)));
    await leases.leave(endpoint, this.member).catch((error: unknown) => this.warn('could not leave', error));
  }

  private tick(): void {
    if (this.stopping || this.round) return;
    this.round = this.rebalance()
      .catch((error: unknown) => {
        this.warn('partition rebalance failed; retrying', error);
        return this.dropStale();
      })
      .finally(() => (this.round = undefined));
  }

  private async rebalance(): Promise<void> {
    const { leases, endpoint, partitions, leaseMs } = this.parts;
    const members = await leases.heartbeat(endpoint, this.member, leaseMs);
    const share = new Set(fairShare(members, this.member, partitions));
    const leaving = [...this.held.keys()].filter((p) => !share.has(p));
    await Promise.all(leaving.map((p) => this.giveUp(p, true)));
    for (const p of share) {
      if (this.stopping) return;
      const held = this.held.get(p);
      if (!(await leases.claim(endpoint, p, this.member, leaseMs))) {
        // Held by another member: ours lapsed (it is not ours any more), or its owner still drains.
        if (held) {
          this.parts.logger.warn('partition lease taken by another member; stopped consuming it', {
            endpoint,
            partition: p,
          });
          await this.giveUp(p, false);
        }
        continue;
      }
      if (held) held.renewedAt = performance.now();
      else await this.take(p);
    }
  }

  private async take(partition: number): Promise<void> {
    const { transport, endpoint, handler, leases, logger } = this.parts;
    try {
      const consumer = await transport.consume(endpoint, handler, {
        concurrency: 1,
        partition,
        prefetch: PARTITION_PREFETCH,
      });
      this.held.set(partition, { consumer, renewedAt: performance.now() });
      logger.info('consuming partition', { endpoint, partition, member: this.member });
    } catch (error) {
      this.warn(`could not consume partition ${partition}`, error);
      await leases.release(endpoint, partition, this.member).catch(() => undefined);
    }
  }

  /** Stops consuming `partition` (after its handling in flight) and, if `release`, frees its lease. */
  private async giveUp(partition: number, release: boolean): Promise<void> {
    const held = this.held.get(partition);
    if (!held) return;
    this.held.delete(partition);
    await held.consumer.stop();
    const { leases, endpoint, logger } = this.parts;
    if (release) {
      await leases
        .release(endpoint, partition, this.member)
        .catch((error: unknown) => this.warn(`could not release partition ${partition}`, error));
    }
    logger.info('stopped consuming partition', { endpoint, partition, member: this.member });
  }

  /** After failed rounds: gives up the partitions whose lease was not renewed for a lease period. */
  private async dropStale(): Promise<void> {
    const now = performance.now();
    const stale = [...this.held].filter(([, held]) => now - held.renewedAt >= this.parts.leaseMs);
    await Promise.all(stale.map(([p]) => this.giveUp(p, false)));
  }

  private warn(what: string, error: unknown): void {
    this.parts.logger.warn(what, {
      endpoint: this.parts.endpoint,
      member: this.member,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}
