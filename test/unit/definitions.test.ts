/**
 * Definition mistakes fail `endpoint.start()` (and `container.load(longhaulModule(...))`) with a
 * ConfigurationError naming the class, the method and the fix, not the first message.
 */
import { Container, inject } from 'inversify';
import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  Endpoint,
  type EndpointOptions,
  Event,
  type Handler,
  HandlerFor,
  Handles,
  longhaulModule,
  Saga,
  type SagaContext,
  silentLogger,
  StartedBy,
} from '../../src/index.js';

@Event('defs.Opened')
class Opened {
  constructor(readonly id: string) {}
}
@Event('defs.Closed')
class Closed {
  constructor(readonly id: string) {}
}
/** Looks like a message, but nobody decorated it. */
class NotAMessage {
  constructor(readonly id: string) {}
}

@Saga('defs.NoCorrelation')
class NoCorrelation {
  @StartedBy(Opened, {} as never)
  opened(): void {}
}

@Saga('defs.StringCorrelation')
class StringCorrelation {
  @StartedBy(Opened, { correlateBy: 'id' as never })
  opened(): void {}
}

@Saga('defs.NoStart')
class NoStart {
  @Handles(Closed, { correlateBy: (m) => m.id })
  closed(): void {}
}

@Saga('defs.Same')
class SameA {
  @StartedBy(Opened, { correlateBy: (m) => m.id })
  opened(): void {}
}
@Saga('defs.Same')
class SameB {
  @StartedBy(Opened, { correlateBy: (m) => m.id })
  opened(): void {}
}
@Saga('defs.Renamed', { aliases: ['defs.Same'] })
class AliasClash {
  @StartedBy(Opened, { correlateBy: (m) => m.id })
  opened(): void {}
}

@Saga('defs.Undecorated')
class UndecoratedMessage {
  @StartedBy(NotAMessage as never, { correlateBy: (m: NotAMessage) => m.id })
  opened(): void {}
}

@Saga('defs.BadPolicy')
class BadPolicy {
  @StartedBy(Opened, { correlateBy: (m) => m.id, onExisting: 'skip' as never })
  opened(): void {}
}

@Saga('defs.WrongParameter')
class WrongParameter {
  @StartedBy(Opened, { correlateBy: (m) => m.id })
  opened(_m: Opened, _ctx: SagaContext<object>): void {}
  @Handles(Closed, { correlateBy: (m) => m.id })
  closed(_m: Closed, _ctx: SagaContext<object>): void {}
}
// What tsc emits with emitDecoratorMetadata (esbuild, which runs these tests, emits none): the
// first parameter of `closed` declared as a class that is not a message.
Reflect.defineMetadata('design:paramtypes', [Opened, Object], WrongParameter.prototype, 'opened');
Reflect.defineMetadata('design:paramtypes', [NotAMessage, Object], WrongParameter.prototype, 'closed');

@Saga('defs.OtherMessageParameter')
class OtherMessageParameter {
  @StartedBy(Opened, { correlateBy: (m) => m.id })
  opened(_m: Opened): void {}
}
Reflect.defineMetadata('design:paramtypes', [Closed], OtherMessageParameter.prototype, 'opened');

class Clock {}
@Saga('defs.NeedsInjection')
class NeedsInjection {
  constructor(readonly clock: Clock) {}
  @StartedBy(Opened, { correlateBy: (m) => m.id })
  opened(): void {}
}

@HandlerFor(NotAMessage as never)
class HandlesUndecorated implements Handler<NotAMessage> {
  handle(): void {}
}

// Compiled without experimentalDecorators, TypeScript calls decorators the TC39 way: (value, context).
class Standard {
  opened(): void {}
}
(StartedBy(Opened, { correlateBy: (m) => m.id }) as unknown as (v: unknown, c: object) => void)(
  Standard.prototype.opened,
  { kind: 'method', name: 'opened', static: false, private: false },
);
(Saga('defs.Standard') as unknown as (v: unknown, c: object) => void)(Standard, {
  kind: 'class',
  name: 'Standard',
});

async function startFails(options: Partial<EndpointOptions>): Promise<ConfigurationError> {
  const endpoint = new Endpoint({ name: 'defs', logger: silentLogger, ...options } as EndpointOptions);
  const error = await endpoint.start().then(
    () => undefined,
    (e: unknown) => e,
  );
  await endpoint.stop();
  expect(error).toBeInstanceOf(ConfigurationError);
  return error as ConfigurationError;
}

describe('definition errors fail endpoint.start() with the class, the method and the fix', () => {
  const cases: [string, Partial<EndpointOptions>, string, RegExp][] = [
    [
      'no correlateBy',
      { sagas: [NoCorrelation] },
      'sagas[0]',
      /NoCorrelation\.opened: @StartedBy\(Opened\) has no correlateBy function.*fix: pass \{ correlateBy/,
    ],
    [
      'a correlateBy that is not a function',
      { sagas: [SameA, StringCorrelation] },
      'sagas[1]',
      /StringCorrelation\.opened: .*correlateBy function \(got string\)/,
    ],
    [
      'no start handler',
      { sagas: [NoStart] },
      'sagas[0]',
      /NoStart: it has no @StartedBy handler.*fix: decorate/,
    ],
    [
      'two sagas with one name',
      { sagas: [SameA, SameB] },
      'sagas[1]',
      /SameB: the saga name 'defs\.Same' is also used by SameA \(sagas\[0\]\)/,
    ],
    [
      "an alias that is another saga's name",
      { sagas: [SameA, AliasClash] },
      'sagas[1]',
      /AliasClash: the saga name 'defs\.Same' is also used by SameA/,
    ],
    [
      'an undecorated message class',
      { sagas: [UndecoratedMessage] },
      'sagas[0]',
      /UndecoratedMessage\.opened: NotAMessage is not a message class; fix: decorate it with @Event/,
    ],
    [
      'an unknown onExisting',
      { sagas: [BadPolicy] },
      'sagas[0]',
      /BadPolicy\.opened: @StartedBy\(Opened\) has onExisting "skip"; fix: one of handle, ignore, error/,
    ],
    [
      'a parameter that is not a message class',
      { sagas: [WrongParameter] },
      'sagas[0]',
      /WrongParameter\.closed: its message parameter is declared as NotAMessage, which is not a decorated message class, but the decorator names Closed/,
    ],
    [
      'a parameter of another message type',
      { sagas: [OtherMessageParameter] },
      'sagas[0]',
      /OtherMessageParameter\.opened: .*declared as Closed, a different message type \('defs\.Closed'\)/,
    ],
    [
      'a handler for an undecorated class',
      { handlers: [HandlesUndecorated] },
      'handlers[0]',
      /HandlesUndecorated: @HandlerFor\(NotAMessage\): not a message class/,
    ],
    [
      'TC39 decorators (no experimentalDecorators)',
      { sagas: [Standard] },
      'sagas[0]',
      /Standard: its decorators ran as TC39 standard decorators.*"experimentalDecorators": true and "emitDecoratorMetadata": true/,
    ],
    [
      'constructor parameters without a container',
      { sagas: [NeedsInjection] },
      'sagas[0]',
      /NeedsInjection takes constructor parameters.*longhaulModule/,
    ],
  ];
  for (const [what, options, field, message] of cases) {
    it(what, async () => {
      const error = await startFails(options);
      expect(error.field).toBe(field);
      expect(error.message).toMatch(message);
    });
  }

  it('a valid saga with a base-class or interface parameter passes', async () => {
    @Saga('defs.Fine')
    class Fine {
      @StartedBy(Opened, { correlateBy: (m) => m.id })
      opened(_m: Opened): void {}
    }
    Reflect.defineMetadata('design:paramtypes', [Object], Fine.prototype, 'opened');
    const endpoint = new Endpoint({ name: 'defs-ok', logger: silentLogger, sagas: [Fine] });
    await endpoint.start();
    await endpoint.stop();
  });
});

describe('the Inversify module', () => {
  it('container.load fails on a definition mistake, naming the class', () => {
    const container = new Container();
    expect(() => container.load(longhaulModule({ name: 'defs', sagas: [NoCorrelation] }))).toThrow(
      /sagas\[0\]: NoCorrelation\.opened: @StartedBy\(Opened\) has no correlateBy/,
    );
  });

  it('a class whose constructor parameters carry no metadata names the compiler flags', () => {
    const container = new Container();
    let error: unknown;
    try {
      container.load(longhaulModule({ name: 'defs', sagas: [NeedsInjection] }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(
      /sagas\[0\]: NeedsInjection cannot be registered in the container: .*"emitDecoratorMetadata": true using tsc or swc .*@inject\(Token\)/s,
    );
  });

  it('a dependency the container cannot build fails endpoint.start(), naming the class', async () => {
    const container = new Container();
    container.load(longhaulModule({ name: 'defs', logger: silentLogger, sagas: [NeedsUnbound] }));
    const endpoint = container.get(Endpoint);
    const error = await endpoint.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/sagas\[0\]: NeedsUnbound cannot be built by the container/);
  });
});

/** Never bound in the container. */
class Dep {}
@Saga('defs.NeedsUnbound')
class NeedsUnbound {
  constructor(@inject(Dep) readonly dep: Dep) {}
  @StartedBy(Opened, { correlateBy: (m) => m.id })
  opened(): void {}
}
