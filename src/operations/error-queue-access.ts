/**
 * {@link ErrorQueueAccess} over the two transports: the RabbitMQ transport's `errorQueues` and
 * the in-memory transport's error lists.
 */
import { type InMemoryTransport } from '../bus/memory/in-memory-transport.js';
import { type ErrorQueueMessage, type RabbitMqErrorQueues } from '../bus/rabbitmq/error-queue.js';
import { type WireMessage } from '../messages/codec.js';
import { Headers } from '../messages/envelope.js';
import {
  type ErrorActionResult,
  type ErrorMessageView,
  type ErrorQueueAccess,
  type ErrorSelection,
} from './api.js';

/** Body as text when it is UTF-8, else base64. */
export function bodyView(body: Buffer): ErrorMessageView['body'] {
  try {
    return { encoding: 'utf8', text: new TextDecoder('utf-8', { fatal: true }).decode(body) };
  } catch {
    return { encoding: 'base64', text: body.toString('base64') };
  }
}

/** A failed message as the API shows it. */
export function errorView(message: WireMessage, endpoint: string): ErrorMessageView {
  const h = message.headers;
  const attempts = Number.parseInt(h[Headers.errorAttempts] ?? '', 10);
  const described = message as Partial<ErrorQueueMessage>;
  return {
    messageId: message.messageId,
    ...(h[Headers.type] !== undefined ? { type: h[Headers.type] } : {}),
    reason: described.reason ?? h[Headers.errorReason] ?? 'unknown',
    ...((described.error ?? h[Headers.errorMessage]) !== undefined
      ? { error: described.error ?? h[Headers.errorMessage] }
      : {}),
    ...(Number.isFinite(attempts) ? { attempts } : {}),
    ...(h[Headers.errorTime] !== undefined ? { failedAt: h[Headers.errorTime] } : {}),
    source: described.source ?? (h[Headers.errorSource] || endpoint),
    headers: { ...h },
    body: bodyView(message.body),
  };
}

/** Whether a message is in a selection. */
export function selected(selection: ErrorSelection, view: ErrorMessageView): boolean {
  if ('all' in selection) return selection.all === true;
  if ('ids' in selection) return selection.ids.includes(view.messageId);
  const { reason, type, failedBefore } = selection.filter;
  if (reason !== undefined && view.reason !== reason) return false;
  if (type !== undefined && view.type !== type) return false;
  if (failedBefore !== undefined) {
    const at = view.failedAt === undefined ? Number.NaN : Date.parse(view.failedAt);
    if (!(at < failedBefore.getTime())) return false;
  }
  return true;
}

/** The RabbitMQ transport's error queues (`transport.errorQueues`) as {@link ErrorQueueAccess}. */
export function rabbitMqErrorQueueAccess(queues: RabbitMqErrorQueues): ErrorQueueAccess {
  const match = (endpoint: string, selection: ErrorSelection) => ({
    match: (m: ErrorQueueMessage) => selected(selection, errorView(m, endpoint)),
  });
  return {
    count: (endpoint) => queues.count(endpoint),
    list: async (endpoint, options) =>
      (await queues.list(endpoint, options)).map((m) => errorView(m, endpoint)),
    show: async (endpoint, id) => {
      const found = await queues.show(endpoint, id);
      return found ? errorView(found, endpoint) : undefined;
    },
    replay: async (endpoint, selection) => {
      const result = await queues.replay(endpoint, match(endpoint, selection));
      return {
        done: result.replayed,
        missing: missingOf(selection, result.replayed, result.failed),
        failed: result.failed,
      };
    },
    delete: async (endpoint, selection) => {
      const result = await queues.delete(endpoint, match(endpoint, selection));
      return { done: result.deleted, missing: missingOf(selection, result.deleted, []), failed: [] };
    },
  };
}

/** The in-memory transport's error queues as {@link ErrorQueueAccess}. */
export function inMemoryErrorQueueAccess(transport: InMemoryTransport): ErrorQueueAccess {
  const views = (endpoint: string): ErrorMessageView[] =>
    transport.errors(endpoint).map((m) => errorView(m, endpoint));
  const chosen = (endpoint: string, selection: ErrorSelection): string[] =>
    views(endpoint)
      .filter((v) => selected(selection, v))
      .map((v) => v.messageId);
  return {
    count: async (endpoint) => transport.errors(endpoint).length,
    list: async (endpoint, options) => views(endpoint).slice(0, options?.limit ?? 1000),
    show: async (endpoint, id) => views(endpoint).find((v) => v.messageId === id),
    replay: async (endpoint, selection): Promise<ErrorActionResult> => {
      const ids = chosen(endpoint, selection);
      transport.replayErrors(endpoint, ids);
      return { done: ids, missing: missingOf(selection, ids, []), failed: [] };
    },
    delete: async (endpoint, selection): Promise<ErrorActionResult> => {
      const ids = transport.deleteErrors(endpoint, chosen(endpoint, selection));
      return { done: ids, missing: missingOf(selection, ids, []), failed: [] };
    },
  };
}

function missingOf(
  selection: ErrorSelection,
  done: readonly string[],
  failed: readonly { readonly messageId: string }[],
): string[] {
  if (!('ids' in selection)) return [];
  return selection.ids.filter((id) => !done.includes(id) && !failed.some((f) => f.messageId === id));
}
