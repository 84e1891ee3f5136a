/**
 * What the workers run in the `long-lived` scenario: an account saga that lives for the whole run
 * and handles 1,000+ deposits, and the handlers of what it sends.
 *
 * Each deposit `seq` of an account is applied to the instance's state once: `counts[seq]` says how
 * many times (a digit), so a deposit applied twice (an old id past the inbox's reach) is visible in
 * the state itself. Outgoing message ids are derived from the incoming id, so a rerun of an old
 * deposit would send a `Credit` with the same id, which the ledger refuses: the ledger alone
 * cannot see a saga applying a message twice; the state can.
 *
 * The saga sends a `Credit` to the `ledger` endpoint for every deposit (effect `credit`), and an `Audit`
 * to the `audit` endpoint for every {@link AUDIT_EVERY}th (effect `audit`). The `audit` queue is
 * deleted for part of the run (see unroutable.ts): those sends fail as unroutable. Every
 * {@link STATEMENT_EVERY}th deposit asks for a statement by a 2 s timeout, whose handler counts it
 * in the state and sends a `SendStatement` (effect `statement`): the scheduler kills hit these.
 */
import {
  Command,
  Event,
  type Handler,
  type HandlerContext,
  HandlerFor,
  Handles,
  Message,
  OnTimeout,
  Saga,
  type SagaContext,
  StartedBy,
} from '../../src/index.js';
import { recordEffect } from './ledger.js';

/** The saga type's name in the store. */
export const ACCOUNT_SAGA = 'chaos.Account';
/** The endpoint of the saga's downstream services (`Credit`, `SendStatement`), in the workers. */
export const LEDGER_ENDPOINT = 'ledger';
/** The endpoint the `Audit` commands go to (its queue is unroutable for part of the run). */
export const AUDIT_ENDPOINT = 'audit';
/** Every this many deposits (by `seq`) the saga also sends an `Audit`. */
export const AUDIT_EVERY = 4;

/**
 * The workers' outbox in this scenario: 4 attempts 1, 2 and 4 s apart (at the sweeps, every 2 s),
 * so an entry that cannot be sent is dead-lettered about 13 s after its first attempt, well inside
 * the unroutable window; a broker close or a worker kill (one attempt each) does not get there.
 */
export const LONG_LIVED_OUTBOX = {
  sweepInterval: '2s',
  lease: '3s',
  maxAttempts: 4,
  retryDelay: '1s',
  retryMaxDelay: '4s',
} as const;
/**
 * How long the outbox may take to dead-letter an entry it cannot send, with room for a slow sweep
 * or a store restart: an `Audit` sent this long before the destination came back must have been
 * dead-lettered, not delivered.
 */
export const DEAD_LETTER_SPAN_MS = 25_000;
/**
 * How long before the window an entry may have been sent and still be dead-lettered: its committer
 * died before sending it, and the sweeper tried it (after the lease, at its next sweep) inside.
 */
export const SENT_BEFORE_SLACK_MS = 10_000;

/** What a worker logs (INFO, with messageId, accountId, seq) when the broker confirmed an `Audit`. */
export const AUDIT_SEND_CONFIRMED = 'audit send confirmed';
/**
 * How close to the audit queue's deletion a confirm may be for the check to take the `Audit` as one
 * RabbitMQ confirmed while deleting the queue under it (routed to the queue, dropped with it).
 */
export const DELETION_RACE_MS = 1_500;

/** Whether deposit `seq` is audited. */
export const audited = (seq: number): boolean => seq % AUDIT_EVERY === 0;
/** Every this many deposits the saga asks for a statement, by a timeout 2 s later. */
export const STATEMENT_EVERY = 25;
/** The statement number deposit `seq` asks for, if any. */
export const statementOf = (seq: number): number | undefined =>
  seq % STATEMENT_EVERY === 0 ? seq / STATEMENT_EVERY : undefined;

/** Opens an account: starts its saga. */
@Event('chaos.AccountOpened')
export class AccountOpened {
  constructor(readonly accountId: string) {}
}

/** The account's `seq`th deposit (0-based, contiguous per account). */
@Event('chaos.DepositMade')
export class DepositMade {
  constructor(
    readonly accountId: string,
    readonly seq: number,
  ) {}
}

/** Credits deposit `seq`; `nth` is the instance's applied count after applying it. */
@Command('chaos.Credit')
export class Credit {
  constructor(
    readonly accountId: string,
    readonly seq: number,
    readonly nth: number,
  ) {}
}

/** Tells the audit service about deposit `seq`; `sentAt` is when the saga sent it (ISO time). */
@Command('chaos.Audit')
export class Audit {
  constructor(
    readonly accountId: string,
    readonly seq: number,
    readonly sentAt: string,
  ) {}
}

/** The timeout that makes the account send its `n`th statement. */
@Message('chaos.StatementDue')
export class StatementDue {
  constructor(
    readonly accountId: string,
    readonly n: number,
  ) {}
}

/** Sends the account's `n`th statement (effect `statement`). */
@Command('chaos.SendStatement')
export class SendStatement {
  constructor(
    readonly accountId: string,
    readonly n: number,
  ) {}
}

/**
 * The account's state: how many times it was opened, how many deposits it applied, how many times each (`counts[seq]`), and
 * how many times each statement timeout was handled (`statements[n]`).
 */
export interface AccountState {
  /** Times the opening was handled (1; a rerun of the start handler on the instance adds one). */
  opened: number;
  applied: number;
  counts: string;
  statements: string;
}

/** Adds one application of `seq` to `counts` (a digit per seq, capped at 9). */
export function countOnce(counts: string, seq: number): string {
  const padded = counts.length > seq ? counts : counts.padEnd(seq + 1, '0');
  const n = Math.min(9, Number(padded[seq]) + 1);
  return `${padded.slice(0, seq)}${n}${padded.slice(seq + 1)}`;
}

/** The long-lived account saga. */
@Saga(ACCOUNT_SAGA)
export class ChaosAccount {
  @StartedBy(AccountOpened, { correlateBy: (m) => m.accountId })
  opened(_msg: AccountOpened, ctx: SagaContext<AccountState>): void {
    // Counted rather than reset when the instance exists, so that a rerun shows as the opening
    // applied twice instead of wiping the account's history.
    if (ctx.isNew) ctx.state = { opened: 1, applied: 0, counts: '', statements: '' };
    else ctx.state.opened += 1;
  }

  // A deposit can overtake its account's opening (redelivery, retries): retry until it exists.
  @Handles(DepositMade, { correlateBy: (m) => m.accountId, notFound: 'retry' })
  async deposit(msg: DepositMade, ctx: SagaContext<AccountState>): Promise<void> {
    ctx.state.applied += 1;
    ctx.state.counts = countOnce(ctx.state.counts, msg.seq);
    await ctx.send(new Credit(msg.accountId, msg.seq, ctx.state.applied), { to: LEDGER_ENDPOINT });
    if (audited(msg.seq)) {
      const sentAt = ctx.now().toISOString();
      await ctx.send(new Audit(msg.accountId, msg.seq, sentAt), { to: AUDIT_ENDPOINT });
    }
    const statement = statementOf(msg.seq);
    if (statement !== undefined)
      await ctx.requestTimeout(new StatementDue(msg.accountId, statement), { after: '2s' });
  }

  @OnTimeout(StatementDue)
  async statementDue(msg: StatementDue, ctx: SagaContext<AccountState>): Promise<void> {
    ctx.state.statements = countOnce(ctx.state.statements, msg.n);
    await ctx.send(new SendStatement(msg.accountId, msg.n), { to: LEDGER_ENDPOINT });
  }
}

/** Sends a statement (effect `statement`, `seq` = its number). */
@HandlerFor(SendStatement)
export class ChaosStatementService implements Handler<SendStatement> {
  async handle(msg: SendStatement, ctx: HandlerContext): Promise<void> {
    await recordEffect('statement', ctx.envelope.id, msg.accountId, { seq: msg.n });
  }
}

/** Applies a credit (effect `credit`); a redelivery is refused by the ledger. */
@HandlerFor(Credit)
export class ChaosCreditService implements Handler<Credit> {
  async handle(msg: Credit, ctx: HandlerContext): Promise<void> {
    await recordEffect('credit', ctx.envelope.id, msg.accountId, { seq: msg.seq, nth: msg.nth });
  }
}

/** Records an audit (effect `audit`); runs on the `audit` endpoint, in the harness's process. */
@HandlerFor(Audit)
export class ChaosAuditor implements Handler<Audit> {
  async handle(msg: Audit, ctx: HandlerContext): Promise<void> {
    await recordEffect('audit', ctx.envelope.id, msg.accountId, { seq: msg.seq, sentAt: msg.sentAt });
  }
}

export const longLivedHandlers = [ChaosCreditService, ChaosStatementService];
