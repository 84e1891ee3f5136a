/**
 * An endpoint given its own tracer and meter providers (`telemetry` option) reports to them, not to
 * the globals: here no global provider is registered at all, only the context manager and the W3C
 * propagator an SDK setup registers. A provider without the method the facade calls fails at start
 * naming the field.
 */
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError, Endpoint, silentLogger } from '../../src/index.js';
import { OnDemandReader, pointsOf, sumOf } from '../support/otel.js';
import { runOrder } from './order-run.js';

describe('telemetry through providers given to the endpoint', () => {
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });
  afterAll(() => {
    propagation.disable();
    context.disable();
  });

  it('spans and metrics go to the given providers, and messages carry the trace', async () => {
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const reader = new OnDemandReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const t = await runOrder('o-own', {
      name: 'own-providers',
      telemetry: { tracerProvider, meterProvider },
    });

    const spans = exporter.getFinishedSpans();
    expect(spans.some((s) => s.name === 'process ot.OrderPlaced')).toBe(true);
    expect(spans.some((s) => s.name.startsWith('commit '))).toBe(true);
    // Every message after the first publish carries the trace context, and it is one trace.
    expect(t.transport.log.every((r) => r.message.headers['traceparent'] !== undefined)).toBe(true);
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);

    const handled = sumOf(await pointsOf(reader), 'longhaul.messages.handled');
    expect(handled).toBeGreaterThanOrEqual(t.transport.log.filter((r) => r.operation !== 'error').length - 1);
    await t.endpoint.close();
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
  });

  it('a provider without getTracer / getMeter fails at start naming the field', async () => {
    const fieldOf = async (telemetry: unknown): Promise<string | undefined> => {
      const endpoint = new Endpoint({
        name: 'bad-telemetry',
        logger: silentLogger,
        telemetry: telemetry as never,
      });
      try {
        await endpoint.start();
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigurationError);
        return (error as ConfigurationError).field;
      } finally {
        await endpoint.close();
      }
      return undefined;
    };
    expect(await fieldOf({ tracerProvider: {} })).toBe('telemetry.tracerProvider');
    expect(await fieldOf({ meterProvider: { getTracer: () => undefined } })).toBe('telemetry.meterProvider');
    expect(await fieldOf('yes')).toBe('telemetry');
  });
});
