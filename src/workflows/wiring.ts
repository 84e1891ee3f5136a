import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError } from '../errors.js';
import { type HandlerDefinition } from '../handlers/handler.js';
import { messageTypeOf, type MessageType } from '../messages/registry.js';
import { type SagaDefinition, sagaDefinitionOf } from '../sagas/metadata.js';
import { type KnownItems, type SagaStore } from '../persistence/saga-store.js';
import { type Duration } from '../util/duration.js';
import { type Logger } from '../util/logger.js';
import { ActivityCanceller, ActivityWorker, RunningActivities } from './activity-worker.js';
import { type RetryPolicy } from './context.js';
import {
  type ActivityRef,
  activityNameOf,
  type WorkflowClass,
  workflowNameOf,
  type WorkflowRun,
} from './definitions.js';
import { WorkflowEngine } from './engine.js';
import { positiveMillis, resolveHistoryLimits, type WorkflowHistoryOptions } from './limits.js';
import { CancelActivity, ExecuteActivity } from './messages.js';
import { DEFAULT_RETRY, resolveRetryPolicy } from './retry.js';
import { resolveCacheOptions, type WorkflowCacheOptions } from './run-cache.js';
import { type Telemetry } from '../telemetry/telemetry.js';

/** Workflow options of an endpoint. */
export interface WorkflowOptions {
  /** The endpoint whose workers run this endpoint's activities. @defaultValue this endpoint */
  activityEndpoint?: string;
  /** The retry policy of activity calls that set none. @defaultValue 3 attempts, 1 s doubling to at most 1 min */
  retry?: RetryPolicy;
  /**
   * The version of the workflow code, recorded on every history event it writes and shown in the
   * status (set it to your release or commit id in CI).
   * @defaultValue the `version` of the `package.json` in the working directory, else `'unversioned'`
   */
  buildId?: string;
  /** How often a parked instance retries its replay, through a durable timer. @defaultValue '1m' */
  parkedRecheckInterval?: Duration;
  /** History size thresholds: where `continueAsNew` is suggested, and where the instance fails. */
  history?: WorkflowHistoryOptions;
  /**
   * How long an activity attempt without a `startToCloseTimeout` may run before the worker aborts
   * it and releases its delivery (a retryable `ActivityTimeoutError`); enforced by the worker only.
   * Keep it below RabbitMQ's `consumer_timeout` (30 min by default). @defaultValue '10m'
   */
  activityTimeout?: Duration;
  /**
   * The longest `startToCloseTimeout` or `heartbeatTimeout` an activity call may set (a longer one
   * fails the call with code `invalid-activity-options`): an attempt holds its delivery while it
   * runs, so this must stay below the broker's consumer timeout. @defaultValue '25m'
   */
  maxActivityTimeout?: Duration;
  /**
   * The run cache: suspended runs this endpoint keeps in memory to resume with the next message
   * instead of replaying `run` from the top (see docs/workflows.md, "The run cache").
   * @defaultValue `{ maxRuns: 1000 }`
   */
  cache?: WorkflowCacheOptions;
}

/** The default `buildId`: the working directory's package version, else `'unversioned'`. */
export function defaultBuildId(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' && pkg.version.length > 0 ? pkg.version : 'unversioned';
  } catch {
    return 'unversioned';
  }
}

function option<T>(field: string, make: () => T): T {
  try {
    return make();
  } catch (error) {
    throw new ConfigurationError(`workflowOptions.${field}`, (error as Error).message);
  }
}

/** Builds the built-in workflow saga and activity handler for an endpoint. */
export function workflowParts(
  workflows: readonly WorkflowClass[],
  activities: readonly ActivityRef[],
  options: WorkflowOptions,
  deps: {
    endpoint: string;
    logger: Logger;
    resolve: (ctor: new (...args: any[]) => object) => object;
    store: SagaStore;
    /** Sends a message at once (activity heartbeats). */
    sendNow: (message: object, to: string) => Promise<void>;
    /** The endpoint's message body limit. @defaultValue 1 MiB */
    maxBodyBytes?: number;
    /** Spans of replays and activity attempts. @defaultValue none */
    telemetry?: Telemetry;
  },
): { sagas: SagaDefinition[]; handlers: HandlerDefinition[] } {
  const byName = new Map<string, WorkflowClass>();
  workflows.forEach((ctor, i) => {
    try {
      byName.set(workflowNameOf(ctor), ctor);
    } catch (error) {
      throw new ConfigurationError(`workflows[${i}]`, (error as Error).message);
    }
  });
  const activityMap = new Map<string, ActivityRef>();
  activities.forEach((ref, i) => {
    try {
      activityMap.set(activityNameOf(ref), ref);
    } catch (error) {
      throw new ConfigurationError(`activities[${i}]`, (error as Error).message);
    }
  });
  let defaultRetry;
  try {
    defaultRetry = resolveRetryPolicy(options.retry, DEFAULT_RETRY);
  } catch (error) {
    throw new ConfigurationError('workflowOptions.retry', (error as Error).message);
  }
  const history = option('history', () => resolveHistoryLimits(options.history));
  const recheckIntervalMs = option('parkedRecheckInterval', () =>
    positiveMillis(options.parkedRecheckInterval ?? '1m', 'parkedRecheckInterval'),
  );
  const build = option('buildId', () => {
    const id = options.buildId ?? defaultBuildId();
    if (typeof id !== 'string' || id.length === 0 || id.length > 200)
      throw new Error('buildId must be a non-empty string of at most 200 characters');
    return id;
  });
  const maxBodyBytes = deps.maxBodyBytes ?? 1024 * 1024;
  const activityTimeoutMs = option('activityTimeout', () =>
    positiveMillis(options.activityTimeout ?? '10m', 'activityTimeout'),
  );
  const maxActivityTimeoutMs = option('maxActivityTimeout', () =>
    positiveMillis(options.maxActivityTimeout ?? '25m', 'maxActivityTimeout'),
  );
  const cachedRuns = resolveCacheOptions(options.cache);
  const sagas: SagaDefinition[] = [];
  let knownHistory: ((ref: { instanceId?: string; sagaId?: string }) => KnownItems | undefined) | undefined;
  if (byName.size > 0) {
    const engine = new WorkflowEngine({
      resolveWorkflow: (type) => {
        const ctor = byName.get(type);
        return ctor && (deps.resolve(ctor) as WorkflowRun);
      },
      endpoint: deps.endpoint,
      activityEndpoint: options.activityEndpoint ?? deps.endpoint,
      defaultRetry,
      logger: deps.logger,
      build,
      recheckIntervalMs,
      maxBodyBytes,
      history,
      maxActivityTimeoutMs,
      cachedRuns,
      ...(deps.telemetry ? { telemetry: deps.telemetry } : {}),
    });
    if (cachedRuns > 0) knownHistory = (ref) => engine.runs.peek(ref);
    const known = knownHistory;
    sagas.push({
      ...(sagaDefinitionOf(WorkflowEngine) as SagaDefinition),
      instance: engine,
      appendOnly: 'history',
      ...(known
        ? {
            knownItems: (ref) =>
              known(
                ref.correlationKey !== undefined ? { instanceId: ref.correlationKey } : { sagaId: ref.id },
              ),
          }
        : {}),
    });
  }
  const handlers: HandlerDefinition[] = [];
  if (activityMap.size > 0) {
    const running = new RunningActivities();
    handlers.push({
      name: 'longhaul.ActivityWorker',
      ctor: ActivityWorker,
      messageTypes: [messageTypeOf(ExecuteActivity) as unknown as MessageType],
      instance: new ActivityWorker(
        activityMap,
        {
          resolve: deps.resolve,
          endpoint: deps.endpoint,
          logger: deps.logger,
          store: deps.store,
          sendNow: deps.sendNow,
          maxBodyBytes,
          activityTimeoutMs,
          ...(deps.telemetry ? { telemetry: deps.telemetry } : {}),
          ...(knownHistory ? { knownHistory: (instanceId: string) => knownHistory!({ instanceId }) } : {}),
        },
        running,
      ),
    });
    handlers.push({
      name: 'longhaul.ActivityCanceller',
      ctor: ActivityCanceller,
      messageTypes: [messageTypeOf(CancelActivity) as unknown as MessageType],
      instance: new ActivityCanceller(running, deps.logger),
    });
  }
  return { sagas, handlers };
}
