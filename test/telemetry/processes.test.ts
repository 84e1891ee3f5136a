/**
 * Traces across two worker processes on RabbitMQ + FerretDB, each with its own OpenTelemetry SDK
 * writing its finished spans to stdout; the test process (with its own SDK) publishes, then puts
 * the three processes' spans together and checks one trace per scenario.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { Endpoint, RabbitMqTransport, silentLogger } from '../../src/index.js';
import { MongoSagaStore } from '../../src/persistence/mongodb/index.js';
import { installTelemetry, type PointRecord, type SpanRecord, sumOf } from '../support/otel.js';
import { OrderPlaced, ParentFlow } from './fixtures.js';
import { expectOrderTrace, expectWorkflowTrace } from './trace-shape.js';

const rabbitUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const mongoUrl = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';
const otel = installTelemetry();
const tag = randomUUID().slice(0, 8);
const prefix = `ot-${tag}.`;
const database = `lh_ot_${tag}`;
const names = { a: 'ot-sagas', b: 'ot-payments' };
const workers: ChildProcess[] = [];
const received: SpanRecord[] = [];
const points: (PointRecord & { process: string })[] = [];
const cleanups: (() => Promise<void>)[] = [];

function startWorker(role: 'a' | 'b'): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/telemetry/worker.ts'], {
    env: {
      ...process.env,
      LH_ROLE: role,
      LH_RABBITMQ_URL: rabbitUrl,
      LH_MONGODB_URL: mongoUrl,
      LH_DATABASE: database,
      LH_PREFIX: prefix,
      LH_ENDPOINT_A: names.a,
      LH_ENDPOINT_B: names.b,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  workers.push(child);
  return new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'ready') resolve();
      else if (line.startsWith('span ')) received.push(JSON.parse(line.slice(5)) as SpanRecord);
      else if (line.startsWith('metric '))
        points.push({ ...(JSON.parse(line.slice(7)) as PointRecord), process: role });
    });
    child.once('exit', (code) => reject(new Error(`worker ${role} exited with ${code} before it was ready`)));
  });
}

/** Retries `check` until it stops throwing (the last spans arrive just after the effects). */
async function eventually<T>(check: () => T | Promise<T>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

const all = (): SpanRecord[] => [...otel.spans().map((s) => ({ ...s, process: 'test' })), ...received];

/** Stops the workers (SIGTERM: they write their metric points and delete their queues). */
async function stopWorkers(): Promise<void> {
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.exitCode !== null) return resolve();
          const kill = setTimeout(() => w.kill('SIGKILL'), 10_000);
          w.once('exit', () => (clearTimeout(kill), resolve()));
          w.kill('SIGTERM');
        }),
    ),
  );
}

afterAll(async () => {
  await stopWorkers();
  for (const cleanup of cleanups.reverse()) await cleanup();
  await otel.shutdown();
});

describe('telemetry across two worker processes on RabbitMQ + FerretDB', () => {
  it('shows an order and a workflow each as one trace over three processes', async () => {
    await Promise.all([startWorker('a'), startWorker('b')]);
    const transport = new RabbitMqTransport({ url: rabbitUrl, prefix });
    const store = new MongoSagaStore({ url: mongoUrl, database });
    const driver = new Endpoint({ name: 'ot-driver', transport, sagaStore: store, logger: silentLogger });
    await driver.start();
    cleanups.push(async () => {
      await driver.close();
      const client = new MongoClient(mongoUrl);
      await client.db(database).dropDatabase();
      await client.close();
    });

    await driver.bus.publish(new OrderPlaced('o-mp', '1s'));
    const flows = driver.workflowsAt(names.a);
    await flows.start(ParentFlow, 'mp', { id: 'wf-mp' });
    expect(await flows.result('wf-mp', { timeout: '30s', pollInterval: '100ms' })).toEqual([
      'found mp',
      'found mp/child',
    ]);

    const order = await eventually(() => expectOrderTrace(all(), 'rabbitmq'), 30_000);
    const byProcess = (name: string): string[] => [
      ...new Set(order.filter((s) => s.name === name).map((s) => s.process ?? '')),
    ];
    expect(byProcess('publish ot.OrderPlaced')).toEqual(['test']);
    expect(byProcess('saga ot.Order')).toEqual(['a']);
    expect(byProcess('handler Payments')).toEqual(['b']);
    const flow = await eventually(() => expectWorkflowTrace(all()), 30_000);
    expect(new Set(flow.map((s) => s.process))).toEqual(new Set(['test', 'a', 'b']));
    expect([...new Set(flow.filter((s) => s.name === 'activity ot.LookUp').map((s) => s.process))]).toEqual([
      'b',
    ]);

    // The workers' metrics, as each counted what it did.
    await stopWorkers();
    const of = (process: string): PointRecord[] => points.filter((p) => p.process === process);
    const handled = { 'longhaul.message.type': 'ot.ChargeCard', 'longhaul.endpoint': names.b };
    expect(sumOf(of('b'), 'longhaul.messages.handled', { ...handled, 'longhaul.outcome': 'retry' })).toBe(1);
    expect(sumOf(of('b'), 'longhaul.messages.handled', { ...handled, 'longhaul.outcome': 'ack' })).toBe(1);
    expect(sumOf(of('b'), 'longhaul.message.retries', { 'longhaul.retry.kind': 'immediate' })).toBe(1);
    expect(sumOf(of('b'), 'longhaul.message.retries', { 'longhaul.retry.kind': 'delayed' })).toBe(1);
    expect(sumOf(of('a'), 'longhaul.message.retries')).toBe(0);
    const delivered = { 'longhaul.message.type': 'ot.ShipDeadline' };
    expect(sumOf(points, 'longhaul.timeouts.delivered', delivered)).toBe(1); // by either scheduler
    expect(sumOf(points, 'longhaul.timeout.lateness', delivered)).toBe(1);
    expect(sumOf(of('b'), 'longhaul.activity.attempts', { 'longhaul.outcome': 'ok' })).toBe(2);
    const placed = { 'longhaul.message.type': 'ot.OrderPlaced', 'longhaul.outcome': 'ack' };
    expect(sumOf(of('a'), 'longhaul.messages.handled', placed)).toBe(1);
    expect(sumOf(points, 'longhaul.message.error_queue.moves')).toBe(0);
    expect(sumOf(of('a'), 'longhaul.workflow.instances', { 'longhaul.workflow.status': 'completed' })).toBe(
      2,
    );
  }, 60_000);
});
