/**
 * The MongoDB timeout store (also runs on FerretDB v1.24). Its options extend `MongoStoreOptions`
 * and its errors are the ones exported next to `MongoSagaStore`.
 * @packageDocumentation
 */

/** The timeout store on MongoDB, safe for several schedulers; see its file header for how it leases. */
export { MongoTimeoutStore, type MongoTimeoutStoreOptions } from './mongo-timeout-store.js';
