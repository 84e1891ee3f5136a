/** Version 2 of `cli.Onboarding`, reordered: wait for the verification before the welcome. */
import { Workflow, type WorkflowContext } from '../../../src/index.js';
import { createAccount, EmailVerified, sendWelcome } from './shared.js';

@Workflow('cli.Onboarding')
class Onboarding {
  async run(ctx: WorkflowContext, email: string): Promise<string> {
    const account = await ctx.activity(createAccount, email);
    const verified = await ctx.waitForEvent(EmailVerified, { timeout: '7d' });
    if (!verified) return `${account} unverified`;
    await ctx.activity(sendWelcome, account);
    return `${account} verified`;
  }
}

/** Exported as an array, as an application's list of workflows often is. */
export const workflows = [Onboarding];
