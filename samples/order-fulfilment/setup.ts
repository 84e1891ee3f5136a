import { Container } from 'inversify';
import { Endpoint, type EndpointOptions, longhaulModule } from '../../src/index.js';
import { OrderFulfilment } from './order-fulfilment-saga.js';
import { PaymentGateway, PaymentService, ShippingService } from './services.js';

/**
 * Wires the order-fulfilment sample into an Inversify container: one endpoint, `shop`, that runs
 * the saga and, for the sample's sake, the payment and shipping services too. Pass a transport and
 * stores for production (RabbitMQ, MongoDB); the in-memory ones are the default.
 */
export function createShop(options: Partial<EndpointOptions> = {}): {
  container: Container;
  endpoint: Endpoint;
} {
  const container = new Container();
  container.bind(PaymentGateway).toSelf().inSingletonScope();
  container.load(
    longhaulModule({
      name: 'shop',
      sagas: [OrderFulfilment],
      handlers: [PaymentService, ShippingService],
      ...options,
    }),
  );
  return { container, endpoint: container.get(Endpoint) };
}
