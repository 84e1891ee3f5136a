/** Send-only endpoints and the WorkflowClient's targeting, in memory (issue 20, points 3 and 4). */
import { describe, expect, it } from 'vitest';
import {
  activity,
  Command,
  ConfigurationError,
  Endpoint,
  InMemorySagaStore,
  InMemoryTransport,
  silentLogger,
  Workflow,
  type WorkflowContext,
  WorkflowNotHostedError,
} from '../../src/index.js';

@Command('unit.clients.Ping')
class Ping {
  constructor(readonly n: number) {}
}

const echo = activity('unit.clients.Echo', (text: string) => text);

@Workflow('unit.clients.Echoing')
class Echoing {
  async run(ctx: WorkflowContext, text: string): Promise<string> {
    return ctx.activity(echo, text);
  }
}

@Workflow('other.clients.Unhosted')
class Unhosted {
  async run(): Promise<string> {
    return 'never';
  }
}

function pair(clientOptions: { workflowRoutes?: Record<string, string>; sendOnly?: boolean } = {}) {
  const transport = new InMemoryTransport();
  const sagaStore = new InMemorySagaStore();
  const worker = new Endpoint({
    name: 'worker',
    workflows: [Echoing],
    activities: [echo],
    transport,
    sagaStore,
    logger: silentLogger,
  });
  const client = new Endpoint({
    name: 'client',
    transport,
    sagaStore,
    logger: silentLogger,
    ...clientOptions,
  });
  return { transport, worker, client };
}

describe('a send-only endpoint (in memory)', () => {
  it('declares no queue: a message sent to it is refused', async () => {
    const { client } = pair({ sendOnly: true });
    await client.start();
    await expect(client.bus.send(new Ping(1), { to: 'client' })).rejects.toThrow(
      "No endpoint queue 'client'",
    );
    await expect(client.workflows.start(Echoing, 'x')).rejects.toBeInstanceOf(WorkflowNotHostedError);
    await client.stop();
  });

  it('with sendOnly: true refuses workflows, naming the field', async () => {
    const endpoint = new Endpoint({ name: 'x', sendOnly: true, workflows: [Echoing], logger: silentLogger });
    const error = await endpoint.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).field).toBe('workflows');
  });
});

describe("an endpoint's WorkflowClient", () => {
  it('fails at once for a type it neither hosts nor routes, even when it hosts others', async () => {
    const { worker } = pair();
    await worker.start();
    const error = await worker.workflows.start(Unhosted, undefined as never).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowNotHostedError);
    expect((error as WorkflowNotHostedError).code).toBe('workflow-not-hosted');
    expect((error as Error).message).toContain("'other.clients.Unhosted'");
    await worker.stop();
  });

  it('follows workflowRoutes for start, and for signal/cancel by the type stored for the id', async () => {
    const { worker, client, transport } = pair({ workflowRoutes: { 'unit.clients.*': 'worker' } });
    await worker.start();
    await client.start();
    await client.workflows.start(Echoing, 'hello', { id: 'e-1' });
    expect(await client.workflows.result('e-1', { timeout: '10s' })).toBe('hello');
    await client.workflows.cancel('e-1', 'done anyway');
    await transport.whenIdle();
    expect(transport.errors('worker')).toEqual([]);
    const sentTo = transport.log.filter((r) => r.operation === 'send').flatMap((r) => r.endpoints);
    expect(sentTo).not.toContain('client');
    await client.stop();
    await worker.stop();
  });

  it('says why result() timed out when the id is unknown to the store it reads', async () => {
    const { worker } = pair();
    await worker.start();
    await expect(worker.workflows.result('nobody', { timeout: '50ms' })).rejects.toThrow(
      /no instance 'nobody' is in the saga store this client reads/,
    );
    await worker.stop();
  });
});
