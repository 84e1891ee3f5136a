import { inject, injectable } from 'inversify';
import { Activity, Event, Workflow, type WorkflowContext } from '../../src/index.js';

/** The user clicked the link in the verification email. */
@Event('accounts.EmailVerificationClicked')
export class EmailVerificationClicked {
  constructor(readonly secret: string) {}
}

/** A user directory; the sample keeps users in memory. */
@injectable()
export class UserDirectory {
  readonly users = new Map<string, { email: string; active: boolean }>();
  readonly mails: { email: string; secret: string }[] = [];
}

@Activity('accounts.RegisterUser')
export class RegisterUser {
  constructor(@inject(UserDirectory) private readonly directory: UserDirectory) {}
  execute(input: { userId: string; email: string }): string {
    this.directory.users.set(input.userId, { email: input.email, active: false });
    return input.userId;
  }
}

@Activity('accounts.SendVerificationEmail')
export class SendVerificationEmail {
  constructor(@inject(UserDirectory) private readonly directory: UserDirectory) {}
  execute(input: { email: string; secret: string }): void {
    this.directory.mails.push(input);
  }
}

@Activity('accounts.ActivateUser')
export class ActivateUser {
  constructor(@inject(UserDirectory) private readonly directory: UserDirectory) {}
  execute(userId: string): void {
    const user = this.directory.users.get(userId);
    if (user) user.active = true;
  }
}

@Activity('accounts.DeleteUser')
export class DeleteUser {
  constructor(@inject(UserDirectory) private readonly directory: UserDirectory) {}
  execute(userId: string): void {
    this.directory.users.delete(userId);
  }
}

/** Register, send a secret, wait up to 3 days for it to come back, then activate or delete. */
@Workflow('accounts.UserRegistration')
export class UserRegistrationWorkflow {
  async run(
    ctx: WorkflowContext,
    input: { userId: string; email: string },
  ): Promise<'activated' | 'deleted'> {
    const userId = await ctx.activity(RegisterUser, input);
    const secret = ctx.uuid(); // recorded: every replay sees the same secret
    await ctx.activity(SendVerificationEmail, { email: input.email, secret });
    const deadline = new Date(ctx.now().getTime() + 3 * 86_400_000);
    for (;;) {
      const left = deadline.getTime() - ctx.now().getTime();
      const clicked = left > 0 ? await ctx.waitForEvent(EmailVerificationClicked, { timeout: left }) : null;
      if (!clicked) {
        await ctx.activity(DeleteUser, userId);
        return 'deleted';
      }
      if (clicked.secret === secret) break; // a wrong secret: keep waiting until the deadline
    }
    await ctx.activity(ActivateUser, userId);
    return 'activated';
  }
}

export const registrationActivities = [RegisterUser, SendVerificationEmail, ActivateUser, DeleteUser];
