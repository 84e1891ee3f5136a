/**
 * Traces, metrics and log correlation with the real OpenTelemetry SDK (in-memory span exporter and
 * an on-demand metric reader), on the in-memory adapters with a virtual clock.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { SpanStatusCode } from '@opentelemetry/api';
import {
  Command,
  type Handler,
  HandlerFor,
  type InMemoryTransport,
  type Logger,
  NonRetryableError,
  type Transport,
} from '../../src/index.js';
import { pinoLogger } from '../../src/pino/index.js';
import { startEndpoint } from '../support/endpoint.js';
import { installTelemetry } from '../support/otel.js';
import { ChildFlow, lookUp, OrderPlaced, OrderSaga, ParentFlow, Payments } from './fixtures.js';
import { expectOrderTrace, expectWorkflowTrace } from './trace-shape.js';

const otel = installTelemetry();

@Command('ot.Audit')
class Audit {
  constructor(readonly id: string) {}
}
let auditDown = true;
@HandlerFor(Audit)
class Auditor implements Handler<Audit> {
  handle(): void {
    if (auditDown) throw new NonRetryableError('audit store down');
  }
}
afterAll(() => otel.shutdown());

/** A logger keeping every record, as the endpoint hands them over. */
function capturing(): { logger: Logger; records: { message: string; fields: Record<string, unknown> }[] } {
  const records: { message: string; fields: Record<string, unknown> }[] = [];
  const keep = (message: string, fields?: Record<string, unknown>): void =>
    void records.push({ message, fields: fields ?? {} });
  return { logger: { debug: keep, info: keep, warn: keep, error: keep }, records };
}

describe('telemetry in memory', () => {
  it('traces an order from its first publish through a retried handler and a timeout to completion, and counts it', async () => {
    const { logger, records } = capturing();
    const t = await startEndpoint({
      name: 'shop',
      sagas: [OrderSaga],
      handlers: [Payments],
      logger,
      recoverability: { immediateRetries: 1, delays: ['1s'] },
    });
    await t.endpoint.bus.publish(new OrderPlaced('o-1'));
    await t.idle();
    await t.clock.advance('2s'); // the delayed retry of ChargeCard
    await t.idle();
    await t.clock.advance('65m'); // the scheduler delivers the timeout at its due time
    await t.endpoint.deliverDueTimeouts();
    await t.idle();
    expect(t.handled.some((h) => h.sagas.some((s) => s.completed))).toBe(true);

    const trace = expectOrderTrace(otel.spans(), 'longhaul.memory');
    const deliver = trace.find((s) => s.name === 'deliver ot.ShipDeadline')!;
    expect(deliver.attributes['longhaul.timeout.lateness_ms']).toBe(0); // on the virtual clock

    // Each record logged while handling a message carries the trace and span ids.
    const failed = records.filter((r) => r.message === 'handler failed');
    expect(failed).toHaveLength(2);
    for (const r of failed) expect(r.fields['traceId']).toBe(trace[0]!.traceId);
    const process = trace.filter((s) => s.name === 'process ot.ChargeCard').map((s) => s.spanId);
    expect(process).toContain(failed[0]!.fields['spanId']);

    const byType = (type: string, outcome: string): Promise<number> =>
      otel.metric('longhaul.messages.handled', {
        'longhaul.message.type': type,
        'longhaul.outcome': outcome,
      });
    expect(await byType('ot.ChargeCard', 'retry')).toBe(1);
    expect(await byType('ot.ChargeCard', 'ack')).toBe(1);
    expect(await byType('ot.OrderPlaced', 'ack')).toBe(1);
    expect(await byType('ot.ShipDeadline', 'ack')).toBe(1);
    expect(
      await otel.metric('longhaul.message.handling.duration', { 'longhaul.message.type': 'ot.ChargeCard' }),
    ).toBe(2);
    expect(await otel.metric('longhaul.message.retries', { 'longhaul.retry.kind': 'immediate' })).toBe(1);
    expect(await otel.metric('longhaul.message.retries', { 'longhaul.retry.kind': 'delayed' })).toBe(1);
    expect(
      await otel.metric('longhaul.timeouts.delivered', { 'longhaul.message.type': 'ot.ShipDeadline' }),
    ).toBe(1);
    expect(await otel.metric('longhaul.timeout.lateness')).toBe(1);
    expect(await otel.metric('longhaul.saga.commit.conflicts')).toBe(0);
    expect(await otel.metric('longhaul.outbox.pending', { 'longhaul.endpoint': 'shop' })).toBe(0);

    // An undecodable message goes to the error queue: counted, its process span failed.
    await t.deliverWire({
      messageId: 'junk-1',
      headers: { 'longhaul.type': 'ot.OrderPlaced' },
      body: Buffer.from('{'),
    });
    expect(await otel.metric('longhaul.message.error_queue.moves', { 'longhaul.endpoint': 'shop' })).toBe(1);
    expect(await byType('ot.OrderPlaced', 'error')).toBe(1);
    // A timeout left due (this endpoint's scheduler only polls when poked) shows as overdue.
    expect(await otel.metric('longhaul.timeouts.overdue', { 'longhaul.endpoint': 'shop' })).toBe(0);
    await t.timeoutStore.schedule({
      id: 'left-due',
      dueAt: new Date(t.clock.now().getTime() - 90_000),
      destination: 'shop',
      message: { messageId: 'left-due', headers: {}, body: '{}' },
    });
    expect(await otel.metric('longhaul.timeouts.overdue', { 'longhaul.endpoint': 'shop' })).toBe(90);
    await t.endpoint.close();
  });

  it('traces a workflow with an activity and a child workflow as one trace, and counts instances and attempts', async () => {
    const t = await startEndpoint({
      name: 'flows',
      workflows: [ParentFlow, ChildFlow],
      activities: [lookUp],
    });
    await t.endpoint.workflows.start(ParentFlow, 'p', { id: 'wf-1' });
    await t.idle();
    expect(await t.endpoint.workflows.result('wf-1')).toEqual(['found p', 'found p/child']);
    expectWorkflowTrace(otel.spans());
    expect(
      await otel.metric('longhaul.activity.attempts', {
        'longhaul.activity.name': 'ot.LookUp',
        'longhaul.outcome': 'ok',
      }),
    ).toBe(2);
    expect(await otel.metric('longhaul.activity.duration', { 'longhaul.activity.name': 'ot.LookUp' })).toBe(
      2,
    );
    const completed = (type: string): Promise<number> =>
      otel.metric('longhaul.workflow.instances', {
        'longhaul.workflow.type': type,
        'longhaul.workflow.status': 'completed',
      });
    expect(await completed('ot.Parent')).toBe(1);
    expect(await completed('ot.Child')).toBe(1);
    await t.endpoint.close();
  });

  it('keeps the handling span as the parent of a message the outbox sweeper sends after a failed send', async () => {
    let failures = 1;
    const flaky = (inner: InMemoryTransport): Transport => ({
      declareEndpoint: (t) => inner.declareEndpoint(t),
      publish: (m) => inner.publish(m),
      send: async (m, e) => {
        if (e === 'payments' && failures-- > 0) throw new Error('connection reset');
        return inner.send(m, e);
      },
      consume: (e, h, o) => inner.consume(e, h, o),
      close: () => inner.close(),
    });
    const t = await startEndpoint({
      name: 'shop-sweep',
      sagas: [OrderSaga],
      routes: { 'ot.ChargeCard': 'payments' },
      outbox: { sweepInterval: Infinity, retryDelay: '1s' },
      wrap: flaky,
    });
    await t.endpoint.bus.publish(new OrderPlaced('o-sweep'));
    await t.idle();
    expect(t.transport.pending('payments')).toHaveLength(0);
    await t.clock.advance('2s');
    expect(await t.endpoint.sweepOutbox()).toBe(1); // outside any span: the parent comes from the store
    const spans = otel.spans();
    const root = spans.find(
      (s) => s.name === 'publish ot.OrderPlaced' && s.attributes['longhaul.endpoint'] === 'shop-sweep',
    )!;
    const saga = spans.find((s) => s.name === 'saga ot.Order' && s.traceId === root.traceId)!;
    const sends = spans.filter((s) => s.name === 'send payments' && s.traceId === root.traceId);
    expect(sends.map((s) => [s.parentSpanId, s.status])).toEqual([
      [saga.spanId, SpanStatusCode.ERROR],
      [saga.spanId, SpanStatusCode.UNSET],
    ]);
    const [sent] = t.transport.pending('payments');
    expect(sent?.headers['traceparent']).toBe(`00-${root.traceId}-${sends[1]!.spanId}-01`);
    await t.endpoint.close();
  });

  it('keeps the trace of a message moved to the error queue and replayed from it', async () => {
    const t = await startEndpoint({ name: 'audit', handlers: [Auditor] });
    await t.endpoint.bus.send(new Audit('a-1'));
    await t.idle();
    expect(
      await otel.metric('longhaul.message.error_queue.moves', { 'longhaul.message.type': 'ot.Audit' }),
    ).toBe(1);
    auditDown = false;
    expect(t.transport.replayErrors('audit')).toBe(1);
    await t.idle();
    const spans = otel.spans();
    const send = spans.filter((s) => s.name === 'send audit');
    expect(send).toHaveLength(1);
    const processed = spans.filter((s) => s.name === 'process ot.Audit');
    expect(processed.map((s) => [s.parentSpanId, s.traceId, s.attributes['longhaul.outcome']])).toEqual([
      [send[0]!.spanId, send[0]!.traceId, 'error'],
      [send[0]!.spanId, send[0]!.traceId, 'ack'],
    ]);
    expect(processed[0]!.events).toEqual(['error-queue']);
    await t.endpoint.close();
  });

  it('writes through pino with the trace ids of the message being handled', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    });
    const t = await startEndpoint({
      name: 'shop-pino',
      sagas: [OrderSaga],
      handlers: [Payments],
      logger: pinoLogger(pino({ level: 'debug' }, sink)),
      recoverability: { immediateRetries: 1, delays: ['1s'] },
    });
    await t.endpoint.bus.publish(new OrderPlaced('o-pino'));
    await t.idle();
    const failed = lines.filter((l) => l['msg'] === 'handler failed');
    expect(failed).toHaveLength(2);
    for (const line of failed) {
      expect(line).toMatchObject({ name: 'longhaul', level: 40, type: 'ot.ChargeCard' });
      expect(line['traceId']).toMatch(/^[0-9a-f]{32}$/);
      expect(line['spanId']).toMatch(/^[0-9a-f]{16}$/);
    }
    const root = otel
      .spans()
      .find((s) => s.name === 'publish ot.OrderPlaced' && s.attributes['longhaul.endpoint'] === 'shop-pino');
    expect(failed[0]!['traceId']).toBe(root?.traceId);
    await t.endpoint.close();
  });
});
