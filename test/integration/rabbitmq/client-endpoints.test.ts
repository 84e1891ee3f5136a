/**
 * Processes that only publish, send or start workflows (issue 20, points 3 and 4), on RabbitMQ: a
 * send-only endpoint declares no queue, and the WorkflowClient injected into a client process
 * reaches the endpoint that hosts the workflow type, or fails at once saying how to fix it.
 */
import { Container } from 'inversify';
import { afterEach, describe, expect, it } from 'vitest';
import {
  activity,
  Endpoint,
  Event,
  HandlerFor,
  InMemorySagaStore,
  longhaulModule,
  Workflow,
  WorkflowClient,
  type WorkflowContext,
  WorkflowNotHostedError,
} from '../../../src/index.js';
import { eventually, queueExists, rawChannel, TestBed } from './support.js';

@Event('nc.PriceChanged')
class PriceChanged {
  constructor(
    readonly sku: string,
    readonly price: number,
  ) {}
}

const seen: PriceChanged[] = [];
@HandlerFor(PriceChanged)
class PriceWatcher {
  handle(message: PriceChanged): void {
    seen.push(message);
  }
}

const quote = activity('nc.Quote', (sku: string) => `quote for ${sku}`);

@Workflow('nc.Quoting')
class Quoting {
  async run(ctx: WorkflowContext, sku: string): Promise<string> {
    return ctx.activity(quote, sku);
  }
}

let bed: TestBed;
afterEach(async () => {
  await bed.dispose();
});

describe('a send-only endpoint', () => {
  it('publishes to subscribers but declares neither <name> nor <name>.error, with or without sendOnly', async () => {
    bed = new TestBed();
    const watcher = bed.endpoint(bed.transport(), { name: 'watcher', handlers: [PriceWatcher] });
    await watcher.start();
    for (const [name, sendOnly] of [
      ['pricing-explicit', true],
      ['pricing-implicit', undefined],
    ] as const) {
      const publisher = bed.endpoint(bed.transport(), { name, sendOnly });
      await publisher.start();
      await publisher.bus.publish(new PriceChanged(name, 10));
      expect(await queueExists(bed.queue(name)), name).toBe(false);
      expect(await queueExists(`${bed.queue(name)}.error`), name).toBe(false);
    }
    await eventually(() => seen.length >= 2, 'the watcher to see both prices');
    expect(seen.map((m) => m.sku).sort()).toEqual(['pricing-explicit', 'pricing-implicit']);
    expect(await queueExists(bed.queue('watcher'))).toBe(true);
  });

  it('refuses sagas, handlers or workflows with sendOnly: true, naming the field', async () => {
    bed = new TestBed();
    const endpoint = bed.endpoint(bed.transport(), {
      name: 'mixed',
      sendOnly: true,
      handlers: [PriceWatcher],
    });
    await expect(endpoint.start()).rejects.toThrow(/handlers: a send-only endpoint handles nothing/);
    expect(await queueExists(bed.queue('mixed'))).toBe(false);
  });
});

describe('the WorkflowClient injected in a client process', () => {
  async function worker(store: InMemorySagaStore): Promise<void> {
    const endpoint = bed.endpoint(bed.transport(), {
      name: 'quotes',
      workflows: [Quoting],
      activities: [quote],
      sagaStore: store,
    });
    await endpoint.start();
  }

  function clientContainer(store: InMemorySagaStore, workflowRoutes?: Record<string, string>): Container {
    const container = new Container();
    container.load(
      longhaulModule({ name: 'web', transport: bed.transport(), sagaStore: store, workflowRoutes }),
    );
    return container;
  }

  it('fails at once, naming workflowsAt and workflowRoutes, when nothing says where the type is hosted', async () => {
    bed = new TestBed();
    const store = new InMemorySagaStore();
    await worker(store);
    const container = clientContainer(store);
    const endpoint = container.get(Endpoint);
    await endpoint.start();
    const started = Date.now();
    const error = await container
      .get(WorkflowClient)
      .start(Quoting, 'sku-1', { id: 'q-1' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error).toBeInstanceOf(WorkflowNotHostedError);
    expect((error as Error).message).toContain("Endpoint 'web' does not host workflow type 'nc.Quoting'");
    expect((error as Error).message).toContain("workflowsAt('<endpoint>')");
    expect((error as Error).message).toContain("workflowRoutes: { 'nc.Quoting': '<endpoint>' }");
    // Nothing was sent anywhere: no queue for the client, nothing in an error queue.
    expect(await queueExists(bed.queue('web'))).toBe(false);
    expect(await queueExists(`${bed.queue('web')}.error`)).toBe(false);
    expect((await rawChannel((c) => c.checkQueue(`${bed.queue('quotes')}.error`))).messageCount).toBe(0);
  });

  it('reaches the hosting endpoint with workflowRoutes: start, result and cancel', async () => {
    bed = new TestBed();
    const store = new InMemorySagaStore();
    await worker(store);
    const container = clientContainer(store, { 'nc.*': 'quotes' });
    await container.get(Endpoint).start();
    const client = container.get(WorkflowClient);
    await client.start(Quoting, 'sku-2', { id: 'q-2' });
    expect(await client.result('q-2', { timeout: '15s' })).toBe('quote for sku-2');
    // An id the store knows goes where its type is hosted, too.
    await client.cancel('q-2', 'already done');
    expect((await rawChannel((c) => c.checkQueue(`${bed.queue('quotes')}.error`))).messageCount).toBe(0);
    expect(await queueExists(bed.queue('web'))).toBe(false);
  });
});
