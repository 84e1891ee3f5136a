import { describe, expect, it } from 'vitest';
import { SagaTestKit } from '../../src/testing/index.js';
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

const registration = () =>
  SagaTestKit.start({
    name: 'accounts',
    workflows: [UserRegistrationWorkflow],
    activities: registrationActivities,
    configure: (c) => c.bind(UserDirectory).toSelf().inSingletonScope(),
  });

describe('workflow samples (test kit, virtual clock)', () => {
  it('user registration: activates when the right secret comes back within 3 days', async () => {
    const kit = await registration();
    const directory = kit.container.get(UserDirectory);
    await kit.startWorkflow(
      UserRegistrationWorkflow,
      { userId: 'u-1', email: 'ada@example.com' },
      { id: 'reg-u-1' },
    );
    const [mail] = directory.mails;
    expect(mail?.email).toBe('ada@example.com');
    await kit.advance('1d');
    await kit.workflows.signal('reg-u-1', EmailVerificationClicked, new EmailVerificationClicked('wrong'));
    await kit.idle();
    expect((await kit.workflows.status('reg-u-1'))?.status).toBe('running');
    await kit.workflows.signal(
      'reg-u-1',
      EmailVerificationClicked,
      new EmailVerificationClicked(mail!.secret),
    );
    await kit.idle();
    expect(await kit.workflows.status('reg-u-1')).toMatchObject({ status: 'completed', result: 'activated' });
    expect(directory.users.get('u-1')).toEqual({ email: 'ada@example.com', active: true });
  });

  it('user registration: deletes the user when 3 days pass, even after a wrong secret', async () => {
    const kit = await registration();
    const directory = kit.container.get(UserDirectory);
    await kit.startWorkflow(
      UserRegistrationWorkflow,
      { userId: 'u-2', email: 'bob@example.com' },
      { id: 'reg-u-2' },
    );
    await kit.advance('2d');
    await kit.workflows.signal('reg-u-2', EmailVerificationClicked, new EmailVerificationClicked('wrong'));
    await kit.idle();
    await kit.advance('23h59m');
    expect((await kit.workflows.status('reg-u-2'))?.status).toBe('running');
    await kit.advance('1m');
    expect(await kit.workflows.status('reg-u-2')).toMatchObject({ status: 'completed', result: 'deleted' });
    expect(directory.users.has('u-2')).toBe(false);
  });

  it('order processing: validates, charges and ships; refunds when shipping fails', async () => {
    const kit = await SagaTestKit.start({
      name: 'orders',
      workflows: [OrderProcessing],
      activities: orderActivities,
    });
    ledger.length = 0;
    await kit.startWorkflow(
      OrderProcessing,
      { orderId: 'o-1', amount: 30, address: 'Main St 1' },
      { id: 'o-1' },
    );
    expect(await kit.workflows.result('o-1')).toEqual({ status: 'shipped', detail: 'parcel-o-1' });
    await kit.startWorkflow(
      OrderProcessing,
      { orderId: 'o-2', amount: 12, address: 'nowhere' },
      { id: 'o-2' },
    );
    expect(await kit.workflows.result('o-2')).toEqual({
      status: 'refunded',
      detail: "cannot ship to 'nowhere'",
    });
    await kit.startWorkflow(OrderProcessing, { orderId: 'o-3', amount: 0, address: 'x' }, { id: 'o-3' });
    await expect(kit.workflows.result('o-3')).rejects.toThrow(/amount must be positive/);
    expect(ledger).toEqual([
      'validated o-1',
      'charged o-1 30',
      'shipped o-1',
      'validated o-2',
      'charged o-2 12',
      'refunded payment-o-2',
    ]);
  });
});
