/**
 * Every sample, unchanged, end to end on the real services: RabbitMQ for the messages and the
 * MongoDB stores on FerretDB (through its gate), with a virtual clock to cross the 15-minute and
 * 3-day waits.
 */
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Bus,
  Endpoint,
  type EndpointOptions,
  type Handler,
  type HandlerContext,
  HandlerFor,
  MongoSagaStore,
  MongoTimeoutStore,
  silentLogger,
  VirtualClock,
} from '../../src/index.js';
import { OrderCancelled, OrderCompleted, OrderPlaced } from '../../samples/order-fulfilment/messages.js';
import { createShop } from '../../samples/order-fulfilment/setup.js';
import {
  EmailVerified,
  RegisterUser,
  SendVerificationEmail,
  UserActivated,
  UserDeleted,
} from '../../samples/user-registration/messages.js';
import { createAccounts } from '../../samples/user-registration/setup.js';
import {
  ledger,
  orderActivities,
  OrderProcessing,
} from '../../samples/workflows/order-processing-workflow.js';
import {
  EmailVerificationClicked,
  registrationActivities,
  UserDirectory,
  UserRegistrationWorkflow,
} from '../../samples/workflows/user-registration-workflow.js';
import { eventually, TestBed } from './rabbitmq/support.js';

const mongoUrl = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27018/';
const heard: string[] = [];

/** The rest of the system: hears outcomes, and plays the user who clicks the verification link. */
@HandlerFor(OrderCompleted, OrderCancelled, UserActivated, UserDeleted, SendVerificationEmail)
class World implements Handler<object> {
  async handle(message: object, ctx: HandlerContext): Promise<void> {
    heard.push(`${ctx.envelope.type}:${JSON.stringify(message)}`);
    if (message instanceof SendVerificationEmail && message.email.startsWith('clicks')) {
      await ctx.publish(new EmailVerified(message.userId, message.secret));
    }
  }
}

describe('the samples on RabbitMQ + FerretDB', () => {
  let bed: TestBed;
  let database: string;
  let clock: VirtualClock;
  const endpoints: Endpoint[] = [];

  const services = (): Partial<EndpointOptions> => {
    const mongo = { url: mongoUrl, database, logger: silentLogger };
    return {
      transport: bed.transport(),
      sagaStore: new MongoSagaStore(mongo),
      timeoutStore: new MongoTimeoutStore(mongo),
      clock,
      logger: silentLogger,
      timeouts: { pollInterval: Infinity },
      outbox: { sweepInterval: Infinity },
    };
  };
  const started = async (endpoint: Endpoint): Promise<Endpoint> => {
    endpoints.push(endpoint);
    await endpoint.start();
    return endpoint;
  };
  /** Moves the clock to just past a timer, then lets the scheduler deliver what fell due. */
  const fire = async (
    endpoint: Endpoint,
    by: string,
    until: () => boolean | Promise<boolean>,
    what: string,
  ) => {
    await clock.advance(by);
    await eventually(async () => {
      await endpoint.deliverDueTimeouts();
      return until();
    }, what);
  };

  beforeEach(async () => {
    bed = new TestBed();
    database = `lh_samples_${randomUUID().slice(0, 8)}`;
    clock = new VirtualClock(new Date());
    heard.length = 0;
    // The world listens on its own endpoint; the mail service is part of it.
    await started(bed.endpoint(bed.transport(), { name: 'mail', handlers: [World] }));
  });

  afterEach(async () => {
    for (const endpoint of endpoints.splice(0).reverse()) await endpoint.close();
    await bed.dispose();
    const client = new MongoClient(mongoUrl);
    await client.db(database).dropDatabase();
    await client.close();
  });

  it('order fulfilment saga: a paid order completes; an unpaid one is cancelled by its 15-minute timeout', async () => {
    const shop = createShop(services());
    await started(shop.endpoint);
    const bus = shop.container.get(Bus);
    await bus.publish(new OrderPlaced('o-1', 42));
    await bus.publish(new OrderPlaced('slow-2', 99));
    await eventually(
      () => heard.some((h) => h.startsWith('shop.OrderCompleted:{"orderId":"o-1"')),
      'o-1 completed',
    );
    await fire(
      shop.endpoint,
      '15m',
      () => heard.some((h) => h.startsWith('shop.OrderCancelled')),
      'slow-2 cancelled',
    );
    expect(heard.filter((h) => h.startsWith('shop.')).sort()).toEqual([
      'shop.OrderCancelled:{"orderId":"slow-2","reason":"payment overdue"}',
      'shop.OrderCompleted:{"orderId":"o-1"}',
    ]);
  });

  it('user registration saga: activates on the mailed secret; deletes after 3 days without it', async () => {
    const accounts = createAccounts(services());
    await started(accounts.endpoint);
    const bus = accounts.container.get(Bus);
    await bus.send(new RegisterUser('u-1', 'clicks@example.com'));
    await bus.send(new RegisterUser('u-2', 'ignores@example.com'));
    await eventually(() => heard.some((h) => h.startsWith('accounts.UserActivated')), 'u-1 activated');
    await fire(
      accounts.endpoint,
      '3d',
      () => heard.some((h) => h.startsWith('accounts.UserDeleted')),
      'u-2 deleted',
    );
    expect(heard.filter((h) => h.startsWith('accounts.User')).sort()).toEqual([
      'accounts.UserActivated:{"userId":"u-1"}',
      'accounts.UserDeleted:{"userId":"u-2","reason":"email not verified within 3 days"}',
    ]);
  });

  it('user registration workflow: activated by the right secret; deleted when 3 days pass', async () => {
    const endpoint = await started(
      new Endpoint({
        name: 'accounts',
        ...services(),
        workflows: [UserRegistrationWorkflow],
        activities: registrationActivities,
        resolve: (ctor) =>
          ctor === UserDirectory ? directory : new (ctor as new (d: UserDirectory) => object)(directory),
      }),
    );
    const client = endpoint.workflows;
    await client.start(
      UserRegistrationWorkflow,
      { userId: 'w-1', email: 'ada@example.com' },
      { id: 'reg-w-1' },
    );
    await client.start(
      UserRegistrationWorkflow,
      { userId: 'w-2', email: 'bob@example.com' },
      { id: 'reg-w-2' },
    );
    await eventually(() => directory.mails.length === 2, 'both mails sent');
    const secret = directory.mails.find((m) => m.email === 'ada@example.com')!.secret;
    await client.signal('reg-w-1', EmailVerificationClicked, new EmailVerificationClicked(secret));
    expect(await client.result('reg-w-1', { timeout: '30s' })).toBe('activated');
    await fire(
      endpoint,
      '3d',
      async () => (await client.status('reg-w-2'))?.status === 'completed',
      'reg-w-2 done',
    );
    expect(await client.result('reg-w-2')).toBe('deleted');
    expect([...directory.users.entries()]).toEqual([['w-1', { email: 'ada@example.com', active: true }]]);
  });

  it('order processing workflow: ships, or refunds when shipping fails', async () => {
    const endpoint = await started(
      new Endpoint({
        name: 'orders',
        ...services(),
        workflows: [OrderProcessing],
        activities: orderActivities,
      }),
    );
    ledger.length = 0;
    await endpoint.workflows.start(
      OrderProcessing,
      { orderId: 'p-1', amount: 30, address: 'Main St 1' },
      { id: 'p-1' },
    );
    await endpoint.workflows.start(
      OrderProcessing,
      { orderId: 'p-2', amount: 12, address: 'nowhere' },
      { id: 'p-2' },
    );
    expect(await endpoint.workflows.result('p-1', { timeout: '30s' })).toEqual({
      status: 'shipped',
      detail: 'parcel-p-1',
    });
    expect(await endpoint.workflows.result('p-2', { timeout: '30s' })).toEqual({
      status: 'refunded',
      detail: "cannot ship to 'nowhere'",
    });
    expect(ledger.filter((l) => l.includes('p-2'))).toEqual([
      'validated p-2',
      'charged p-2 12',
      'refunded payment-p-2',
    ]);
  });
});

const directory = new UserDirectory();
