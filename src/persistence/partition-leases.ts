/**
 * # The partition-leases port
 *
 * How the processes serving one partitioned endpoint share its N partitions (docs/scale-out.md).
 * Each process is a *member*: it renews its membership every third of the lease period, reads the
 * live members, takes its fair share of partitions (partition p goes to the member at index
 * p mod K of the sorted live members) by claiming their leases, renews the leases it holds, and
 * releases the ones it should no longer own once their handling drained.
 *
 * Implementations: `InMemoryPartitionLeases` (`persistence/memory/`, one process) and
 * `MongoPartitionLeases` (`persistence/mongodb/`, collection `<sagas collection>_partitions`).
 *
 * Guarantees:
 * - **One holder at a time.** `claim` succeeds only if the partition is free, its lease expired,
 *   or the caller holds it already (a renewal); decided by the store (a conditional write), by the
 *   store's clock.
 * - **Expiry.** A member or lease not renewed within `ttlMs` is no longer live / held, so the
 *   partitions of a dead process are taken over after at most one lease period.
 *
 * Non-goals: fencing a holder that stalls past its lease (the broker's single active consumer on
 * each partition queue is the guard on delivery; the saga commit's version check on effects).
 */

/** The current holder of one partition, as {@link PartitionLeases.holders} reports it. */
export interface PartitionHolder {
  readonly partition: number;
  readonly member: string;
  readonly expiresAt: Date;
}

/** Leases on the partitions of partitioned endpoints; see the file header for the contract. */
export interface PartitionLeases {
  /** Connects and creates what the store needs. Idempotent. */
  init(): Promise<void>;
  /** Registers or renews `member` of `endpoint` for `ttlMs`; returns the live members, sorted. */
  heartbeat(endpoint: string, member: string, ttlMs: number): Promise<string[]>;
  /** Takes or renews the lease on `partition` for `ttlMs`; false when another member holds it. */
  claim(endpoint: string, partition: number, member: string, ttlMs: number): Promise<boolean>;
  /** Gives up the lease on `partition` if `member` holds it. */
  release(endpoint: string, partition: number, member: string): Promise<void>;
  /** Removes `member`'s membership (a graceful stop), so the others rebalance at once. */
  leave(endpoint: string, member: string): Promise<void>;
  /** The partitions whose lease is held now (unexpired), by partition. */
  holders(endpoint: string): Promise<PartitionHolder[]>;
  /** Closes what the store opened. */
  close(): Promise<void>;
}
