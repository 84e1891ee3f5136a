import { type Clock, systemClock } from '../../util/clock.js';
import { type PartitionHolder, type PartitionLeases } from '../partition-leases.js';

/**
 * The {@link PartitionLeases} of one process (the endpoints in it share one instance, or each has
 * its own when alone): maps in memory, expiry on a {@link Clock}.
 */
export class InMemoryPartitionLeases implements PartitionLeases {
  private readonly members = new Map<string, Map<string, number>>();
  private readonly leases = new Map<string, Map<number, { member: string; expiresAt: number }>>();

  constructor(private readonly clock: Clock = systemClock) {}

  async init(): Promise<void> {}

  async heartbeat(endpoint: string, member: string, ttlMs: number): Promise<string[]> {
    const now = this.now();
    const members = this.table(this.members, endpoint);
    members.set(member, now + ttlMs);
    for (const [m, expiresAt] of members) if (expiresAt <= now) members.delete(m);
    return [...members.keys()].sort();
  }

  async claim(endpoint: string, partition: number, member: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    const leases = this.table(this.leases, endpoint);
    const held = leases.get(partition);
    if (held && held.member !== member && held.expiresAt > now) return false;
    leases.set(partition, { member, expiresAt: now + ttlMs });
    return true;
  }

  async release(endpoint: string, partition: number, member: string): Promise<void> {
    const leases = this.table(this.leases, endpoint);
    if (leases.get(partition)?.member === member) leases.delete(partition);
  }

  async leave(endpoint: string, member: string): Promise<void> {
    this.table(this.members, endpoint).delete(member);
  }

  async holders(endpoint: string): Promise<PartitionHolder[]> {
    const now = this.now();
    return [...this.table(this.leases, endpoint)]
      .filter(([, lease]) => lease.expiresAt > now)
      .map(([partition, lease]) => ({
        partition,
        member: lease.member,
        expiresAt: new Date(lease.expiresAt),
      }))
      .sort((a, b) => a.partition - b.partition);
  }

  async close(): Promise<void> {}

  private now(): number {
    return this.clock.now().getTime();
  }

  private table<K, V>(tables: Map<string, Map<K, V>>, endpoint: string): Map<K, V> {
    let table = tables.get(endpoint);
    if (!table) tables.set(endpoint, (table = new Map()));
    return table;
  }
}
