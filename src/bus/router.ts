import { UnroutableError } from '../errors.js';

/**
 * Where commands go: `routes` maps a message type name, or a prefix ending in `*`
 * (`'payments.*'`), to an endpoint name. Command types the local endpoint handles need no route.
 */
export class Router {
  private readonly exact = new Map<string, string>();
  private readonly prefixes: [string, string][] = [];

  constructor(
    routes: Readonly<Record<string, string>>,
    private readonly localEndpoint: string,
    private readonly localTypes: ReadonlySet<string>,
  ) {
    for (const [pattern, endpoint] of Object.entries(routes)) {
      if (pattern.endsWith('*')) this.prefixes.push([pattern.slice(0, -1), endpoint]);
      else this.exact.set(pattern, endpoint);
    }
    this.prefixes.sort((a, b) => b[0].length - a[0].length);
  }

  /** The endpoint that owns `type`, or an {@link UnroutableError}. */
  destinationOf(type: string): string {
    const exact = this.exact.get(type);
    if (exact !== undefined) return exact;
    for (const [prefix, endpoint] of this.prefixes) if (type.startsWith(prefix)) return endpoint;
    if (this.localTypes.has(type)) return this.localEndpoint;
    throw new UnroutableError(
      `No route for '${type}': add it to the endpoint's routes (e.g. routes: { '${type}': 'endpoint-name' })`,
    );
  }
}
