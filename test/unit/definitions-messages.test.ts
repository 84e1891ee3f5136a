/**
 * Message declaration mistakes (one name for two classes, bad versions or aliases) do not throw at
 * import; they fail every endpoint's start. In their own file: the registry is per test file.
 */
import { describe, expect, it } from 'vitest';
import { ConfigurationError, Endpoint, Event, silentLogger } from '../../src/index.js';

@Event('defm.Same')
class First {}
@Event('defm.Same')
class Second {}

describe('message definition errors', () => {
  it('two classes with one message name fail endpoint.start(), naming both', async () => {
    void First;
    void Second;
    const endpoint = new Endpoint({ name: 'defm', logger: silentLogger });
    const error = await endpoint.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).field).toBe("messages['defm.Same']");
    expect((error as Error).message).toMatch(
      /'defm\.Same' is declared by two classes: First and Second; fix:/,
    );
  });
});
