/**
 * The MongoDB saga store (also runs on FerretDB v1.24) and what it shares with the MongoDB timeout
 * store: the connection options and the errors.
 * @packageDocumentation
 */

/** The saga store on MongoDB; see its file header for the document layout and the guarantees. */
export { MongoSagaStore, type MongoSagaStoreOptions } from './mongo-saga-store.js';
/** Options shared by the MongoDB stores (client or url, database, collection prefix, timeouts). */
export { type MongoStoreOptions, type StoreWriteConcern } from './connection.js';
/**
 * `MongoStoreUnavailableError`: the server could not be reached at init (names the host, never the
 * password). `CorruptDocumentError`: a stored document the store cannot read (non-retryable, reason
 * `corrupt-document`). `UnsupportedValueError`: saga state holding a value the store cannot keep
 * (non-retryable, reason `unsupported-state`).
 */
export { MongoStoreUnavailableError, CorruptDocumentError, UnsupportedValueError } from './errors.js';
/** Leases on the partitions of partitioned endpoints (docs/scale-out.md). */
export { MongoPartitionLeases, type MongoPartitionLeasesOptions } from './partition-leases.js';
