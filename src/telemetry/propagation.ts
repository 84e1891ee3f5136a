/** The trace context in message headers, through the registered propagator (W3C by default). */
import { context, type Context, propagation, ROOT_CONTEXT, type Span, trace } from '@opentelemetry/api';

/** A message with string headers. */
export type WithHeaders = { readonly headers: Readonly<Record<string, string>> };

/**
 * Headers with the active trace context written in (creation of a message inside a handler, or by
 * the `Bus` inside the caller's span). Without a registered propagator, `headers` unchanged.
 */
export function withActiveContext(headers: Record<string, string>): Record<string, string> {
  propagation.inject(context.active(), headers);
  return headers;
}

/** The trace context a message carries, or `undefined` when it carries none. */
export function carried(headers: Readonly<Record<string, string>>): Context | undefined {
  const extracted = propagation.extract(ROOT_CONTEXT, headers);
  return trace.getSpanContext(extracted) ? extracted : undefined;
}

/** A copy of `message` whose headers carry `span`'s context in place of the one they had. */
export function carrying<T extends WithHeaders>(message: T, parent: Context, span: Span): T {
  const headers: Record<string, string> = { ...message.headers };
  delete headers['traceparent'];
  delete headers['tracestate'];
  propagation.inject(trace.setSpan(parent, span), headers);
  return { ...message, headers };
}
