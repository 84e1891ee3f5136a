/** Activities and the event of the `cli.Onboarding` workflow, shared by its two versions. */
import { activity, Event } from '../../../src/index.js';

export const ran = { createAccount: 0, sendWelcome: 0 };

export const createAccount = activity('cli.CreateAccount', (email: string) => {
  ran.createAccount++;
  return `account:${email}`;
});
export const sendWelcome = activity('cli.SendWelcome', (account: string) => {
  ran.sendWelcome++;
  return `welcomed ${account}`;
});

@Event('cli.EmailVerified')
export class EmailVerified {
  constructor(readonly email: string) {}
}
