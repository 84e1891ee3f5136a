import { LonghaulError, NonRetryableError } from '../../errors.js';

/**
 * The MongoDB server could not be reached (or refused the credentials) within the server selection
 * timeout. The message names the host(s) and database, never the password.
 */
export class MongoStoreUnavailableError extends LonghaulError {
  /** The hosts the store tried, e.g. `127.0.0.1:27017`. */
  readonly hosts: string;

  constructor(hosts: string, message: string, options?: { cause?: unknown }) {
    super('store-unavailable', message, options);
    this.hosts = hosts;
  }
}

/**
 * A stored document does not have the shape the store writes (a field missing, of the wrong type,
 * or a value the store never produces): it was edited by hand or by another program. Handling the
 * message that loaded it cannot succeed, so the message goes to the error queue with the reason
 * `corrupt-document`; the document itself is left as it is for an operator to repair.
 */
export class CorruptDocumentError extends NonRetryableError {
  /** The collection holding the document. */
  readonly collection: string;
  /** The document's `_id`. */
  readonly documentId: string;

  constructor(collection: string, documentId: string, problem: string) {
    super(`Document '${documentId}' in '${collection}' cannot be decoded: ${problem}`, {
      code: 'corrupt-document',
    });
    this.collection = collection;
    this.documentId = documentId;
  }
}

/**
 * A value the MongoDB stores cannot represent (a function, a `Map`, a `bigint`, an invalid `Date`…)
 * in saga state. Rerunning the handler would produce it again, so the message is not retried.
 */
export class UnsupportedValueError extends NonRetryableError {
  constructor(path: string, what: string) {
    super(`Cannot store ${what} at '${path}': saga state holds JSON values and Dates`, {
      code: 'unsupported-state',
    });
  }
}
