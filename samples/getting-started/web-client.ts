import { Container } from 'inversify';
import { Endpoint, type EndpointOptions, longhaulModule } from '../../src/index.js';

/**
 * A process that only publishes and starts workflows (a web front end): send-only, so it declares
 * no queue, and its WorkflowClient sends checkout's workflow types to the checkout endpoint. Give
 * it the same transport settings and saga store (database) as the checkout processes.
 */
export function createWebClient(parts: Partial<EndpointOptions> = {}): {
  container: Container;
  endpoint: Endpoint;
} {
  const container = new Container();
  container.load(
    longhaulModule({
      name: 'web',
      sendOnly: true,
      workflowRoutes: { 'checkout.*': 'checkout' },
      ...parts,
    }),
  );
  return { container, endpoint: container.get(Endpoint) };
}
