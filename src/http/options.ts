import { type IncomingMessage } from 'node:http';
import { type EntityClass } from '../entities/definitions.js';
import { type Duration } from '../util/duration.js';
import { type Logger } from '../util/logger.js';
import { type WorkflowClass } from '../workflows/definitions.js';

/** What a request asks to do, as the authorization hook sees it. */
export interface HttpAction {
  readonly action:
    | 'start'
    | 'status'
    | 'result'
    | 'signal'
    | 'cancel'
    | 'terminate'
    | 'entity-operation'
    | 'entity-read'
    | 'entity-delete'
    | 'openapi';
  readonly workflowType?: string;
  readonly instanceId?: string;
  readonly entityType?: string;
  readonly key?: string;
  readonly operation?: string;
}

/** Options of {@link longhaulHttp}. */
export interface LonghaulHttpOptions {
  /** The workflow types reachable over HTTP (classes or type names); no other can be started or read. @defaultValue [] */
  workflows?: readonly (WorkflowClass | string)[];
  /** The entity types reachable over HTTP; only their `@EntityOperation` methods can be called. @defaultValue [] */
  entities?: readonly EntityClass[];
  /** Largest accepted request body, in bytes (413 above it). @defaultValue 1048576 (1 MiB) */
  maxBodyBytes?: number;
  /** Longest `wait` of a long poll (`GET /workflows/{id}/result?wait=`), and of an entity call. @defaultValue '60s' */
  maxWait?: Duration;
  /** How long an entity call waits for its result when the request sets no `wait`. @defaultValue '30s' */
  entityCallWait?: Duration;
  /** The `Retry-After` seconds of 202 responses. @defaultValue 1 */
  retryAfterSeconds?: number;
  /**
   * The path the handler is mounted under, prefixed to `Location` and the links it returns
   * (`'/api'` when mounted with `app.use('/api', handler)`). @defaultValue ''
   */
  basePath?: string;
  /**
   * Decides whether a request may do what it asks (after routing, before anything is read or
   * sent): false (or a throw) answers 403 `forbidden`. Check your session or token here.
   * @defaultValue every request is allowed
   */
  authorize?: (request: IncomingMessage, action: HttpAction) => boolean | Promise<boolean>;
  /** Where unexpected failures (answered 500 `internal`) are logged, with the route. @defaultValue console, level `warn` */
  logger?: Logger;
}
