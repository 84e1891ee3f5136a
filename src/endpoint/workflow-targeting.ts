import { LonghaulError } from '../errors.js';

/**
 * A {@link WorkflowClient} was asked to start or steer a workflow type that its endpoint does not
 * host, with no `workflowRoutes` entry saying which endpoint does. Thrown at once by the client
 * call, before anything is sent: the message names the type and the two ways to fix it.
 */
export class WorkflowNotHostedError extends LonghaulError {
  /** The workflow type, or undefined when the instance is unknown to the store. */
  readonly workflowType: string | undefined;

  constructor(endpoint: string, workflowType: string | undefined, id: string) {
    const what =
      workflowType === undefined
        ? `workflow instance '${id}' (not in the store yet)`
        : `workflow type '${workflowType}'`;
    const example = workflowType ?? '<workflow type>';
    super(
      'workflow-not-hosted',
      `Endpoint '${endpoint}' does not host ${what}, so its WorkflowClient cannot tell where to send it. ` +
        `Use a client of the endpoint that hosts it, endpoint.workflowsAt('<endpoint>'), or give this endpoint ` +
        `the option workflowRoutes: { '${example}': '<endpoint>' } (a prefix such as 'accounts.*' works too); ` +
        `the container's WorkflowClient follows workflowRoutes.`,
    );
    this.workflowType = workflowType;
  }
}

/**
 * Where an endpoint's own {@link WorkflowClient} sends a workflow's messages: `workflowRoutes`
 * (exact type, else the longest `prefix.*`), else this endpoint when it hosts the type, else a
 * {@link WorkflowNotHostedError}. An instance whose type the store does not know yet goes to the
 * only destination there is (this endpoint when it hosts workflows, or the single endpoint of
 * `workflowRoutes`).
 * @internal
 */
export function workflowTargeting(
  endpoint: string,
  hosted: ReadonlySet<string>,
  routes: Readonly<Record<string, string>>,
): { readonly routed: boolean; pick(workflowType: string | undefined, id: string): string } {
  const exact = new Map<string, string>();
  const prefixes: [string, string][] = [];
  for (const [pattern, to] of Object.entries(routes)) {
    if (pattern.endsWith('*')) prefixes.push([pattern.slice(0, -1), to]);
    else exact.set(pattern, to);
  }
  prefixes.sort((a, b) => b[0].length - a[0].length);
  const destinations = new Set(Object.values(routes));
  const pick = (workflowType: string | undefined, id: string): string => {
    if (workflowType === undefined) {
      if (hosted.size > 0) return endpoint;
      const [only] = destinations;
      if (destinations.size === 1 && only !== undefined) return only;
      throw new WorkflowNotHostedError(endpoint, undefined, id);
    }
    const routed =
      exact.get(workflowType) ?? prefixes.find(([prefix]) => workflowType.startsWith(prefix))?.[1];
    if (routed !== undefined) return routed;
    if (hosted.has(workflowType)) return endpoint;
    throw new WorkflowNotHostedError(endpoint, workflowType, id);
  };
  return { routed: destinations.size > 0, pick };
}
