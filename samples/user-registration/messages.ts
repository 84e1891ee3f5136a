import { Command, Event, Message } from '../../src/index.js';

@Command('accounts.RegisterUser', {
  validate: (m: RegisterUser) =>
    /^[^@\s]+@[^@\s]+$/.test(m.email) ? [] : [`not an email address: '${m.email}'`],
})
export class RegisterUser {
  constructor(
    readonly userId: string,
    readonly email: string,
  ) {}
}

@Command('mail.SendVerificationEmail')
export class SendVerificationEmail {
  constructor(
    readonly userId: string,
    readonly email: string,
    readonly secret: string,
  ) {}
}

@Event('accounts.EmailVerified')
export class EmailVerified {
  constructor(
    readonly userId: string,
    readonly secret: string,
  ) {}
}

@Event('accounts.UserActivated')
export class UserActivated {
  constructor(readonly userId: string) {}
}

@Event('accounts.UserDeleted')
export class UserDeleted {
  constructor(
    readonly userId: string,
    readonly reason: string,
  ) {}
}

/** The timeout message: three days passed without verification. */
@Message('accounts.VerificationExpired')
export class VerificationExpired {
  constructor(readonly userId: string) {}
}
