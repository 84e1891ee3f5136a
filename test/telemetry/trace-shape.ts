/**
 * Assertions on the spans of the telemetry scenarios (fixtures.ts), shared by the in-memory and
 * the two-process tests: one trace from the first publish to the saga's completion, and one from
 * a workflow's start through its activity and its child.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import { expect } from 'vitest';
import { type SpanRecord } from '../support/otel.js';

const named = (spans: SpanRecord[], name: string): SpanRecord[] => spans.filter((s) => s.name === name);

function one(spans: SpanRecord[], name: string): SpanRecord {
  const found = named(spans, name);
  expect(
    found.map((s) => s.name),
    `exactly one '${name}' span`,
  ).toEqual([name]);
  return found[0] as SpanRecord;
}

/** The spans of `traceId`, checked to form one tree (every parent present, one root). */
export function treeOf(spans: SpanRecord[], traceId: string): SpanRecord[] {
  const trace = spans.filter((s) => s.traceId === traceId);
  const ids = new Set(trace.map((s) => s.spanId));
  const roots = trace.filter((s) => s.parentSpanId === undefined);
  expect(roots.map((s) => s.name)).toHaveLength(1);
  const orphans = trace.filter((s) => s.parentSpanId !== undefined && !ids.has(s.parentSpanId));
  expect(
    orphans.map((s) => s.name),
    'spans whose parent is missing',
  ).toEqual([]);
  return trace;
}

/** True when `ancestor` is on the parent chain of `span`. */
function descends(trace: SpanRecord[], span: SpanRecord, ancestor: SpanRecord): boolean {
  const byId = new Map(trace.map((s) => [s.spanId, s]));
  for (let at = span.parentSpanId; at !== undefined; at = byId.get(at)?.parentSpanId) {
    if (at === ancestor.spanId) return true;
  }
  return false;
}

const childOf = (span: SpanRecord, parent: SpanRecord): boolean => span.parentSpanId === parent.spanId;

/**
 * The order scenario: publish → process OrderPlaced → saga → send ChargeCard → process (failed,
 * immediate retry, delayed retry) and its redelivery → publish CardCharged → saga → schedule
 * timeout → (an hour later) deliver, linked to the schedule span → saga completes.
 */
export function expectOrderTrace(spans: SpanRecord[], system: string): SpanRecord[] {
  const root = one(spans, 'publish ot.OrderPlaced');
  const trace = treeOf(spans, root.traceId);
  expect(root.parentSpanId).toBeUndefined();
  expect(root.attributes['messaging.system']).toBe(system);
  for (const type of ['ot.OrderPlaced', 'ot.ChargeCard', 'ot.CardCharged', 'ot.ShipDeadline']) {
    const processed = named(spans, `process ${type}`);
    expect(processed.length, `process ${type}`).toBeGreaterThan(0);
    for (const span of processed) expect(span.traceId, `process ${type} in the trace`).toBe(root.traceId);
  }
  const placed = one(trace, 'process ot.OrderPlaced');
  expect(childOf(placed, root)).toBe(true);
  expect(placed.attributes['messaging.message.id']).toBe(root.attributes['messaging.message.id']);

  // The payment handler: one delivery failing twice (immediate retry, then delayed), then its redelivery.
  const send = one(
    trace,
    `send ${String(named(trace, 'process ot.ChargeCard')[0]?.attributes['messaging.destination.name'])}`,
  );
  const charges = named(trace, 'process ot.ChargeCard');
  expect(charges).toHaveLength(2);
  for (const c of charges) expect(childOf(c, send)).toBe(true);
  const first = charges.find((c) => c.attributes['longhaul.delayed_retries'] === undefined)!;
  const retried = charges.find((c) => c.attributes['longhaul.delayed_retries'] === 1)!;
  expect(first.events).toEqual(['immediate-retry', 'delayed-retry']);
  expect(first.attributes['longhaul.outcome']).toBe('retry');
  expect(retried.attributes['longhaul.outcome']).toBe('ack');
  const handlers = named(trace, 'handler Payments');
  expect(handlers.filter((h) => h.status === SpanStatusCode.ERROR && childOf(h, first))).toHaveLength(2);
  expect(handlers.filter((h) => h.status !== SpanStatusCode.ERROR && childOf(h, retried))).toHaveLength(1);

  // The saga's commits, one version after the other.
  const commits = named(trace, 'commit ot.Order');
  expect(commits.map((c) => c.attributes['longhaul.saga.version']).sort()).toEqual([1, 2, 3]);
  const sagaIds = new Set(commits.map((c) => c.attributes['longhaul.saga.id']));
  expect(sagaIds.size).toBe(1);

  // The timeout: stored under the handling of CardCharged, delivered later as a child of that
  // schedule span and linked to it.
  const schedule = one(trace, 'schedule ot.ShipDeadline');
  expect(descends(trace, schedule, one(trace, 'process ot.CardCharged'))).toBe(true);
  const deliver = one(trace, 'deliver ot.ShipDeadline');
  expect(childOf(deliver, schedule)).toBe(true);
  expect(deliver.links).toEqual([
    {
      traceId: root.traceId,
      spanId: schedule.spanId,
      attributes: { 'longhaul.link.reason': 'timeout-requested' },
    },
  ]);
  const fired = one(trace, 'process ot.ShipDeadline');
  expect(childOf(fired, deliver)).toBe(true);
  const closing = named(trace, 'saga ot.Order').find((s) => childOf(s, fired))!;
  expect(closing.attributes['longhaul.saga.result']).toBe('committed');
  expect(descends(trace, one(trace, 'publish ot.OrderClosed'), closing)).toBe(true);
  return trace;
}

/** The workflow scenario: start → parent replay → activity → child start → child's activity → results. */
export function expectWorkflowTrace(spans: SpanRecord[]): SpanRecord[] {
  const replays = named(spans, 'workflow ot.Parent replay');
  expect(replays.length).toBeGreaterThan(0);
  const trace = treeOf(spans, (replays[0] as SpanRecord).traceId);
  const root = trace.find((s) => s.parentSpanId === undefined)!;
  expect(root.name).toMatch(/^send /);
  expect(root.attributes['longhaul.message.type']).toBe('longhaul.workflow.Start');
  const activities = named(trace, 'activity ot.LookUp');
  expect(activities).toHaveLength(2);
  for (const a of activities) expect(a.attributes['longhaul.outcome']).toBe('ok');
  const childReplays = named(trace, 'workflow ot.Child replay');
  expect(childReplays.length).toBeGreaterThan(0);
  // The child's activity descends from the child's first replay, which descends from the parent's.
  const childActivity = activities.find((a) => childReplays.some((c) => descends(trace, a, c)));
  expect(childActivity).toBeDefined();
  expect(childReplays.every((c) => replays.some((p) => descends(trace, c, p)))).toBe(true);
  for (const r of replays) expect(r.traceId).toBe(root.traceId);
  return trace;
}
