import { describe, expect, it } from 'vitest';
import { SagaTestKit } from '../../src/testing/index.js';
import {
  EmailVerified,
  RegisterUser,
  SendVerificationEmail,
  UserActivated,
  UserDeleted,
} from '../../samples/user-registration/messages.js';
import { UserRegistration } from '../../samples/user-registration/user-registration-saga.js';

const start = () =>
  SagaTestKit.start({ name: 'accounts', sagas: [UserRegistration], routes: { 'mail.*': 'mail' } });

describe('user registration saga (test kit, virtual clock)', () => {
  it('sends a secret, activates on the right secret within 3 days, ignores a wrong one', async () => {
    const kit = await start();
    await kit.given(new RegisterUser('u-1', 'ada@example.com'));
    const [mail] = kit.sent(SendVerificationEmail);
    expect(mail).toMatchObject({ userId: 'u-1', email: 'ada@example.com' });
    expect(mail?.secret).toMatch(/^[0-9a-f]{16}$/);
    await kit.advance('2d');
    await kit.when(new EmailVerified('u-1', 'wrong'));
    expect(await kit.state(UserRegistration, 'u-1')).toMatchObject({ attempts: 1 });
    await kit.when(new EmailVerified('u-1', mail!.secret));
    expect(kit.published(UserActivated)).toEqual([new UserActivated('u-1')]);
    expect(await kit.status(UserRegistration, 'u-1')).toBe('completed');
    await kit.advance('2d');
    expect(kit.published(UserDeleted)).toEqual([]);
    await kit.stop();
  });

  it('deletes the user when 3 days pass without verification', async () => {
    const kit = await start();
    await kit.given(new RegisterUser('u-2', 'bob@example.com'));
    await kit.given(new RegisterUser('u-2', 'bob@example.com'));
    expect(kit.sent(SendVerificationEmail)).toHaveLength(1);
    await kit.advance('2d23h59m');
    expect(kit.published(UserDeleted)).toEqual([]);
    await kit.advance('1m');
    expect(kit.published(UserDeleted)).toEqual([new UserDeleted('u-2', 'email not verified within 3 days')]);
    await kit.stop();
  });

  it('rejects an invalid email address with the reason', async () => {
    const kit = await start();
    await kit.given(new RegisterUser('u-3', 'not-an-email'));
    expect(kit.errors()).toHaveLength(1);
    expect(kit.errors()[0]?.error).toMatch(/not an email address/);
    await kit.stop();
  });
});
