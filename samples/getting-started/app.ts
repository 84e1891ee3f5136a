import { Container } from 'inversify';
import { Endpoint, type EndpointOptions, longhaulModule } from '../../src/index.js';
import { Checkout } from './checkout-saga.js';
import { CardGateway, PaymentHandler, StartShipping } from './services.js';
import { Shipping, shippingActivities } from './shipping-workflow.js';

/** Everything the checkout endpoint hosts; transport and stores are in memory unless given. */
export function createCheckout(parts: Partial<EndpointOptions> = {}): {
  container: Container;
  endpoint: Endpoint;
} {
  const container = new Container();
  container.bind(CardGateway).toSelf().inSingletonScope();
  container.load(
    longhaulModule({
      name: 'checkout',
      sagas: [Checkout],
      handlers: [PaymentHandler, StartShipping],
      workflows: [Shipping],
      activities: shippingActivities,
      ...parts,
    }),
  );
  return { container, endpoint: container.get(Endpoint) };
}
