import { Container } from 'inversify';
import { Endpoint, type EndpointOptions, longhaulModule } from '../../src/index.js';
import { UserRegistration } from './user-registration-saga.js';

/** The `accounts` endpoint running the registration saga; verification mails go to `mail`. */
export function createAccounts(options: Partial<EndpointOptions> = {}): {
  container: Container;
  endpoint: Endpoint;
} {
  const container = new Container();
  container.load(
    longhaulModule({
      name: 'accounts',
      sagas: [UserRegistration],
      routes: { 'mail.*': 'mail' },
      ...options,
    }),
  );
  return { container, endpoint: container.get(Endpoint) };
}
