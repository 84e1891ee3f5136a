/**
 * `npx tsx samples/telemetry-console.ts` — Longhaul's traces and metrics on the console.
 *
 * Wires the OpenTelemetry SDK the way an application does (a tracer provider, a meter provider,
 * the AsyncLocalStorage context manager and the W3C propagator, registered before the endpoint is
 * built), with console exporters instead of OTLP. Then an order saga runs in memory: the bus
 * publishes `OrderPlaced`, the saga sends `ChargePayment`, a handler publishes `PaymentCharged`,
 * the saga completes. Every span printed belongs to one trace, from the publish to the last commit.
 * docs/observability.md shows the same wiring with an OTLP exporter and Jaeger.
 */
import 'reflect-metadata';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  ConsoleMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { ConsoleSpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import {
  Command,
  Endpoint,
  Event,
  type Handler,
  type HandlerContext,
  HandlerFor,
  Handles,
  Saga,
  type SagaContext,
  StartedBy,
  silentLogger,
} from '../src/index.js';

// 1. The SDK, registered as the process's globals before any endpoint is built.
const tracerProvider = new TracerProvider({
  spanProcessors: [new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() })],
});
const metricReader = new PeriodicExportingMetricReader({
  exporter: new ConsoleMetricExporter(),
  exportIntervalMillis: 60_000,
});
const meterProvider = new MeterProvider({ readers: [metricReader] });
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(tracerProvider);
metrics.setGlobalMeterProvider(meterProvider);

// 2. An ordinary saga and handler: nothing in them knows about telemetry.
@Event('tel.OrderPlaced')
class OrderPlaced {
  constructor(readonly orderId: string) {}
}
@Command('tel.ChargePayment')
class ChargePayment {
  constructor(readonly orderId: string) {}
}
@Event('tel.PaymentCharged')
class PaymentCharged {
  constructor(readonly orderId: string) {}
}

@Saga('tel.Checkout')
class Checkout {
  @StartedBy(OrderPlaced, { correlateBy: (m) => m.orderId })
  async placed(m: OrderPlaced, ctx: SagaContext<{ paid: boolean }>): Promise<void> {
    ctx.state = { paid: false };
    await ctx.send(new ChargePayment(m.orderId));
  }

  @Handles(PaymentCharged, { correlateBy: (m) => m.orderId })
  async charged(_m: PaymentCharged, ctx: SagaContext<{ paid: boolean }>): Promise<void> {
    ctx.state.paid = true;
    ctx.complete();
  }
}

@HandlerFor(ChargePayment)
class Payments implements Handler<ChargePayment> {
  async handle(m: ChargePayment, ctx: HandlerContext): Promise<void> {
    await ctx.publish(new PaymentCharged(m.orderId));
  }
}

// 3. Run one order, then flush the metrics and shut the SDK down.
let completed = false;
const endpoint = new Endpoint({
  name: 'shop',
  sagas: [Checkout],
  handlers: [Payments],
  logger: silentLogger,
  onHandled: (h) => (completed ||= h.sagas.some((s) => s.completed === true)),
});
await endpoint.start();
await endpoint.bus.publish(new OrderPlaced('order-1'));
while (!completed) await new Promise((resolve) => setTimeout(resolve, 10));
await endpoint.close();
await tracerProvider.shutdown();
await meterProvider.shutdown();
console.log('order-1 completed: the spans above share one traceId');
