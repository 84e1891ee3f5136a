/**
 * A counter entity: one state per key, changed by operations applied one at a time, each exactly
 * once. A workflow calls it and gets the operation's result; a saga signals it. `main()` runs it
 * in memory; `test/entities/entities.test.ts` runs this file and
 * `test/entities/entities-services.test.ts` runs the same classes on RabbitMQ + FerretDB.
 */
import 'reflect-metadata';
import { Container, inject, injectable } from 'inversify';
import {
  Endpoint,
  Entity,
  EntityClient,
  type EntityContext,
  EntityOperation,
  longhaulModule,
  silentLogger,
  Workflow,
  WorkflowClient,
  type WorkflowContext,
} from '../../src/index.js';

/** Injected like any dependency of a saga: here, the largest amount one `add` may carry. */
@injectable()
export class CounterLimits {
  readonly maxAdd = 1_000;
}

export interface CounterState {
  value: number;
}

@Entity('Counter')
@injectable()
export class Counter {
  constructor(@inject(CounterLimits) private readonly limits: CounterLimits) {}

  initialState(): CounterState {
    return { value: 0 };
  }

  @EntityOperation()
  add(amount: number, ctx: EntityContext<CounterState>): number {
    if (!Number.isInteger(amount) || amount > this.limits.maxAdd) {
      throw new RangeError(`add takes an integer up to ${this.limits.maxAdd}, got ${amount}`);
    }
    ctx.state.value += amount;
    return ctx.state.value;
  }

  @EntityOperation()
  get(_input: undefined, ctx: EntityContext<CounterState>): number {
    return ctx.state.value;
  }

  @EntityOperation()
  reset(_input: undefined, ctx: EntityContext<CounterState>): void {
    ctx.deleteState();
  }
}

/** A workflow that adds to a counter and gets the new total back (recorded: replay returns it). */
@Workflow('CountVisit')
export class CountVisit {
  async run(ctx: WorkflowContext, input: { page: string }): Promise<string> {
    const total = await ctx.callEntity(Counter, input.page, 'add', 1);
    ctx.signalEntity(Counter, 'all-pages', 'add', 1);
    return `${input.page} has ${total} visits`;
  }
}

/** The container an app (and the samples' tests) builds: the entity and the workflow on one endpoint. */
export function counterContainer(options: { name?: string } = {}): Container {
  const container = new Container();
  container.bind(CounterLimits).toSelf().inSingletonScope();
  container.load(
    longhaulModule({
      name: options.name ?? 'counters',
      entities: [Counter],
      workflows: [CountVisit],
      logger: silentLogger,
    }),
  );
  return container;
}

export async function main(): Promise<string[]> {
  const container = counterContainer();
  const endpoint = container.get(Endpoint);
  await endpoint.start();
  const entities = container.get(EntityClient);
  const workflows = container.get(WorkflowClient);
  const lines: string[] = [];

  // One way: signals are applied in the background, one at a time.
  await Promise.all([1, 2, 3].map((n) => entities.signalEntity(Counter, 'home', 'add', n)));
  // Request and response: the operation's result, or its error.
  lines.push(`add 4 -> ${await entities.callEntity(Counter, 'home', 'add', 4)}`);
  try {
    await entities.callEntity(Counter, 'home', 'add', 5_000);
  } catch (error) {
    lines.push(`add 5000 -> ${(error as Error).message}`);
  }
  // From a workflow.
  await workflows.start(CountVisit, { page: 'home' }, { id: 'visit-1' });
  lines.push(await workflows.result<string>('visit-1'));
  const snapshot = await entities.read<CounterState>(Counter, 'home');
  lines.push(`home: value ${snapshot?.state.value} after ${snapshot?.operations} operations`);
  await endpoint.close();
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const line of await main()) console.log(line);
}
