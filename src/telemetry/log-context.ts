import { context, trace } from '@opentelemetry/api';
import { type Logger } from '../util/logger.js';

/**
 * A logger that adds `traceId` and `spanId` to every record written while a span is active (the
 * handling of a message, an outbox dispatch, an activity attempt), so logs and traces join up.
 * Without an SDK no span is ever active and records pass through unchanged.
 */
export function withTraceIds(logger: Logger): Logger {
  const write =
    (level: keyof Logger) =>
    (message: string, fields?: Record<string, unknown>): void => {
      const span = trace.getSpan(context.active());
      const ids = span?.spanContext();
      if (!ids || !trace.isSpanContextValid(ids)) return logger[level](message, fields);
      logger[level](message, { ...fields, traceId: ids.traceId, spanId: ids.spanId });
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
