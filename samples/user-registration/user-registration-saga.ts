import { createHash } from 'node:crypto';
import { Handles, OnTimeout, Saga, type SagaContext, StartedBy } from '../../src/index.js';
import {
  EmailVerified,
  RegisterUser,
  SendVerificationEmail,
  UserActivated,
  UserDeleted,
  VerificationExpired,
} from './messages.js';

export interface RegistrationState {
  email: string;
  secret: string;
  attempts: number;
}

/**
 * Register → send a verification secret → wait up to 3 days → activate when the right secret comes
 * back, or delete the account when it never does.
 */
@Saga('UserRegistration')
export class UserRegistration {
  // A second RegisterUser for the user changes nothing (logged): onExisting defaults to 'ignore'.
  @StartedBy(RegisterUser, { correlateBy: (m) => m.userId })
  async register(msg: RegisterUser, ctx: SagaContext<RegistrationState>): Promise<void> {
    // Derived from the message id, so a rerun of this handler produces the same secret.
    const secret = createHash('sha256').update(ctx.envelope.id).digest('hex').slice(0, 16);
    ctx.state = { email: msg.email, secret, attempts: 0 };
    await ctx.send(new SendVerificationEmail(msg.userId, msg.email, secret));
    await ctx.requestTimeout(new VerificationExpired(msg.userId), { after: '3d' });
  }

  @Handles(EmailVerified, { correlateBy: (m) => m.userId })
  async verified(msg: EmailVerified, ctx: SagaContext<RegistrationState>): Promise<void> {
    if (msg.secret !== ctx.state.secret) {
      ctx.state.attempts++;
      return;
    }
    await ctx.publish(new UserActivated(msg.userId));
    ctx.complete();
  }

  @OnTimeout(VerificationExpired)
  async expired(msg: VerificationExpired, ctx: SagaContext<RegistrationState>): Promise<void> {
    await ctx.publish(new UserDeleted(msg.userId, 'email not verified within 3 days'));
    ctx.complete();
  }
}
