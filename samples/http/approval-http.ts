/**
 * An approval workflow started over HTTP: `POST /workflows/Approval` answers 202 with a Location,
 * the approver's decision comes in as a signal, and the caller long-polls the result. `main()`
 * runs it in memory behind a real `node:http` server on a loopback port;
 * `test/http/http-services.test.ts` serves the same handler on RabbitMQ + FerretDB.
 */
import 'reflect-metadata';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { Container } from 'inversify';
import {
  Endpoint,
  Event,
  longhaulModule,
  silentLogger,
  Workflow,
  type WorkflowContext,
} from '../../src/index.js';
import { longhaulHttp } from '../../src/http/index.js';
import { Counter, CounterLimits } from '../entities/counter-entity.js';

@Event('approvals.Decision')
export class Decision {
  constructor(
    readonly approved: boolean,
    readonly by: string,
  ) {}
}

export interface ApprovalRequest {
  readonly title: string;
  readonly amount: number;
}

@Workflow('Approval')
export class Approval {
  async run(ctx: WorkflowContext, request: ApprovalRequest): Promise<object> {
    const decision = await ctx.waitForEvent(Decision, { timeout: '7d' });
    if (!decision) return { title: request.title, outcome: 'expired' };
    return { title: request.title, outcome: decision.approved ? 'approved' : 'rejected', by: decision.by };
  }
}

/** Only requests carrying the token get through (a stand-in for your own session or JWT check). */
export const authorize = (req: IncomingMessage): boolean => req.headers.authorization === 'Bearer demo-token';

/** The HTTP API: the Approval workflow and the Counter entity, nothing else. */
export function approvalApi(container: Container) {
  return longhaulHttp(container, { workflows: [Approval], entities: [Counter], authorize });
}

export async function main(): Promise<string[]> {
  const container = new Container();
  container.bind(CounterLimits).toSelf().inSingletonScope();
  container.load(
    longhaulModule({ name: 'approvals', workflows: [Approval], entities: [Counter], logger: silentLogger }),
  );
  await container.get(Endpoint).start();
  const server: Server = createServer(approvalApi(container));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const headers = { authorization: 'Bearer demo-token', 'content-type': 'application/json' };
  const lines: string[] = [];

  // Start: 202, a Location to poll, and how long to wait before polling.
  const started = await fetch(`${base}/workflows/Approval`, {
    method: 'POST',
    headers: { ...headers, 'idempotency-key': 'expense-1017' },
    body: JSON.stringify({ title: 'New laptop', amount: 1800 }),
  });
  const location = started.headers.get('location')!;
  lines.push(`POST /workflows/Approval -> ${started.status}, Location ${location}`);
  const poll = await fetch(`${base}${location}`, { headers });
  lines.push(`GET ${location} -> ${poll.status} ${((await poll.json()) as { status: string }).status}`);

  // The approver decides: a signal named after the event type.
  const signalled = await fetch(`${base}${location}/signals/approvals.Decision`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ approved: true, by: 'ada' }),
  });
  lines.push(`POST ${location}/signals/approvals.Decision -> ${signalled.status}`);

  // Long poll: answers as soon as the workflow finishes (or 202 after 10 s).
  const done = await fetch(`${base}${location}/result?wait=10s`, { headers });
  const body = (await done.json()) as { status: string; result: unknown };
  lines.push(
    `GET ${location}/result?wait=10s -> ${done.status} ${body.status} ${JSON.stringify(body.result)}`,
  );

  await new Promise((resolve) => server.close(resolve));
  await container.get(Endpoint).close();
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const line of await main()) console.log(line);
}
