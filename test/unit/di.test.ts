import { Container, inject, injectable } from 'inversify';
import { describe, expect, it } from 'vitest';
import {
  Bus,
  Endpoint,
  Event,
  type Handler,
  type HandlerContext,
  HandlerFor,
  InMemorySagaStore,
  InMemoryTransport,
  longhaulModule,
  LonghaulTypes,
  Saga,
  type SagaContext,
  silentLogger,
  StartedBy,
} from '../../src/index.js';

@Event('di.Greeted')
class Greeted {
  constructor(readonly name: string) {}
}

@injectable()
class Greeter {
  static instances = 0;
  constructor() {
    Greeter.instances++;
  }
  greet(name: string): string {
    return `hello ${name}`;
  }
}

@Saga('Greeting')
class GreetingSaga {
  constructor(@inject(Greeter) private readonly greeter: Greeter) {}

  @StartedBy(Greeted, { correlateBy: (m) => m.name })
  greeted(m: Greeted, ctx: SagaContext<{ text: string }>): void {
    ctx.state = { text: this.greeter.greet(m.name) };
  }
}

@HandlerFor(Greeted)
class GreetingLog implements Handler<Greeted> {
  static seen: string[] = [];
  constructor(@inject(Greeter) private readonly greeter: Greeter) {}
  handle(m: Greeted, _ctx: HandlerContext): void {
    GreetingLog.seen.push(this.greeter.greet(m.name));
  }
}

describe('Inversify wiring', () => {
  it('registers sagas, handlers, the endpoint and the bus; sagas get constructor injection', async () => {
    const container = new Container();
    container.bind(Greeter).toSelf().inSingletonScope();
    const transport = new InMemoryTransport();
    container.bind(LonghaulTypes.Transport).toConstantValue(transport);
    container.load(
      longhaulModule({
        name: 'greetings',
        sagas: [GreetingSaga],
        handlers: [GreetingLog],
        logger: silentLogger,
      }),
    );
    const endpoint = container.get(Endpoint);
    expect(container.get(Endpoint)).toBe(endpoint);
    expect(endpoint.transport).toBe(transport);
    await endpoint.start();
    await container.get(Bus).publish(new Greeted('ada'));
    await transport.whenIdle();
    const store = container.get<InMemorySagaStore>(LonghaulTypes.SagaStore);
    expect((await store.findByCorrelation('Greeting', 'ada'))?.state).toEqual({ text: 'hello ada' });
    expect(GreetingLog.seen).toEqual(['hello ada']);
    expect(Greeter.instances).toBe(1);
    await endpoint.stop();
  });

  it('lets a stop drain the handlers in flight', async () => {
    let finished = 0;
    @Event('di.Slow')
    class Slow {
      constructor(readonly n: number) {}
    }
    @HandlerFor(Slow)
    class SlowHandler implements Handler<Slow> {
      async handle(): Promise<void> {
        await new Promise((resolve) => setTimeout(resolve, 50));
        finished++;
      }
    }
    const container = new Container();
    container.load(
      longhaulModule({ name: 'slow', handlers: [SlowHandler], logger: silentLogger, concurrency: 4 }),
    );
    const endpoint = container.get(Endpoint);
    await endpoint.start();
    const bus = container.get(Bus);
    for (let n = 0; n < 4; n++) await bus.publish(new Slow(n));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(finished).toBe(0);
    await endpoint.stop();
    expect(finished).toBe(4);
  });
});
