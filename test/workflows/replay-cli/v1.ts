/** Version 1 of `cli.Onboarding`: create the account, welcome, then wait for the verification. */
import { Workflow, type WorkflowContext } from '../../../src/index.js';
import { createAccount, EmailVerified, sendWelcome } from './shared.js';

@Workflow('cli.Onboarding')
export class Onboarding {
  async run(ctx: WorkflowContext, email: string): Promise<string> {
    const account = await ctx.activity(createAccount, email);
    await ctx.activity(sendWelcome, account);
    const verified = await ctx.waitForEvent(EmailVerified, { timeout: '7d' });
    return verified ? `${account} verified` : `${account} unverified`;
  }
}
