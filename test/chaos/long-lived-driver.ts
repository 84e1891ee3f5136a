/**
 * The `long-lived` scenario: A account sagas (long-lived.ts) that each handle D deposits over the
 * load window, duplicates of deposits of every age (many hundreds of messages old) injected all
 * along, and the `audit` destination unroutable for U seconds in the middle (unroutable.ts). The
 * check is long-lived-check.ts. See docs/reliability.md.
 */
import { type Logger } from '../../src/index.js';
import { deadLetterAccess } from './dead-letters.js';
import { checkLongLived, longLivedPoll } from './long-lived-check.js';
import { persistently, sample } from './faults.js';
import { EFFECTS, type EffectDocument, useLedger } from './ledger.js';
import { AccountOpened, ACCOUNT_SAGA, Credit, DepositMade, LEDGER_ENDPOINT } from './long-lived.js';
import { type DriverSetup, type Poll, type ScenarioDriver, type ScenarioOutcome } from './scenario-driver.js';
import { AuditDestination } from './unroutable.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface LongLivedOptions {
  accounts: number;
  /** Deposits per account. */
  deposits: number;
  /** How long the `audit` queue is gone (s). */
  unroutableSeconds: number;
  /** Per deposit published, the chance that an older deposit is published again with its id. */
  duplicateRate: number;
  storeUrl: string;
  database: string;
  logger: Logger;
}

/** Duplicate ages (in messages the account was sent since the original), as the report names them. */
export const AGE_CLASSES = ['age < 100', 'age 100-299', 'age >= 300'] as const;

/** The long-lived scenario's driver. */
export function longLivedDriver(setup: DriverSetup, options: LongLivedOptions): ScenarioDriver {
  const { bus, db, random, loadWindowMs, log } = setup;
  const began = setup.began;
  const accounts = Array.from({ length: options.accounts }, (_, i) => `acct-${i}`);
  /** Deposits published per account (seqs 0..n-1). */
  const published = new Map(accounts.map((a) => [a, 0]));
  const audit = new AuditDestination(setup.broker, setup.prefix, options.logger);
  const ages: Record<(typeof AGE_CLASSES)[number], number> = {
    'age < 100': 0,
    'age 100-299': 0,
    'age >= 300': 0,
  };
  let oldest = 0;
  const total = options.accounts * options.deposits;
  // The window opens at a seeded moment of the second quarter of the load, so that there is
  // traffic (and old ids to duplicate) before, during and after it.
  const windowAt = Math.round(loadWindowMs * (0.25 + 0.15 * random()));

  const depositId = (account: string, seq: number): string => `dep-${account}-${seq}`;

  async function publishDeposit(account: string, seq: number): Promise<void> {
    await persistently(() =>
      bus.publish(new DepositMade(account, seq), { messageId: depositId(account, seq) }),
    );
  }

  /** Re-publishes one published deposit of `account`, of the age class `cls` when it has one. */
  async function duplicate(account: string, cls: number): Promise<void> {
    const n = published.get(account) ?? 0;
    if (n < 2) return;
    const [minAge, maxAge] = cls === 2 ? [300, n] : cls === 1 ? [100, 299] : [1, 99];
    const hi = Math.min(maxAge, n);
    if (hi < minAge) return duplicate(account, cls - 1);
    const age = minAge + Math.floor(random() * (hi - minAge + 1));
    const seq = n - age;
    await publishDeposit(account, seq);
    ages[AGE_CLASSES[age >= 300 ? 2 : age >= 100 ? 1 : 0]]++;
    oldest = Math.max(oldest, age);
  }

  async function openAccounts(): Promise<void> {
    for (const account of accounts)
      await persistently(() => bus.publish(new AccountOpened(account), { messageId: `opened-${account}` }));
    const sagas = db.collection('longhaul_sagas');
    for (let waited = 0; ; waited += 200) {
      const opened = await sagas.countDocuments({ sagaType: ACCOUNT_SAGA }).catch(() => 0);
      if (opened >= accounts.length) return;
      if (waited > 60_000) throw new Error(`only ${opened} of ${accounts.length} accounts opened in 60 s`);
      await sleep(200);
    }
  }

  async function deposits(): Promise<void> {
    const began = Date.now();
    const tickMs = 100;
    let next = 0;
    for (let tick = 0; next < total; tick++) {
      const due = Math.min(total, Math.ceil(((tick + 1) * tickMs * total) / loadWindowMs));
      const batch: Promise<void>[] = [];
      for (; next < due; next++) {
        const account = accounts[next % accounts.length]!;
        const seq = Math.floor(next / accounts.length);
        batch.push(publishDeposit(account, seq).then(() => void published.set(account, seq + 1)));
        if (random() < options.duplicateRate) batch.push(duplicate(account, Math.floor(random() * 3)));
      }
      await Promise.all(batch);
      const wait = began + (tick + 1) * tickMs - Date.now();
      if (wait > 0) await sleep(wait);
      if (Date.now() - began > loadWindowMs + 10 * 60_000)
        throw new Error('could not publish the deposits in time');
    }
  }

  async function unroutableWindow(): Promise<void> {
    const wait = windowAt;
    if (wait > 0) await sleep(wait);
    await audit.down();
    log(`chaos: +${((Date.now() - began) / 1000).toFixed(1)}s queue ${audit.queue} deleted (unroutable)`);
    await sleep(options.unroutableSeconds * 1000);
    await audit.up();
    log(`chaos: +${((Date.now() - began) / 1000).toFixed(1)}s queue ${audit.queue} declared again`);
  }

  /**
   * Per account: 3 deposits at least 300 messages old (when there are), 3 of any age, 1 recent, and
   * its opening again; and 10 `Credit`s from the ledger with their original ids.
   */
  async function duplicates(counts: Record<string, number>): Promise<void> {
    const add = (what: string, n = 1): void => void (counts[what] = (counts[what] ?? 0) + n);
    for (const account of accounts) {
      for (const cls of [2, 2, 2, 0]) await duplicate(account, cls);
      for (let i = 0; i < 3; i++) await duplicate(account, Math.floor(random() * 3));
      await persistently(() => bus.publish(new AccountOpened(account), { messageId: `opened-${account}` }));
      add('accountOpened');
    }
    const credits = await db
      .collection<EffectDocument>(EFFECTS)
      .find({ kind: 'credit' })
      .limit(300)
      .toArray();
    for (const effect of sample(credits, 10, random)) {
      const credit = new Credit(effect.orderId, effect.seq ?? 0, effect.nth ?? 0);
      await persistently(() => bus.send(credit, { messageId: effect._id, to: LEDGER_ENDPOINT }));
      add('credit');
    }
  }

  return {
    describe: () =>
      `${options.accounts} account sagas × ${options.deposits} deposits (duplicates ${options.duplicateRate * 100}% ` +
      `of every age), audit destination unroutable for ${options.unroutableSeconds}s`,
    start: async () => {
      useLedger(options.storeUrl, options.database);
      await audit.up();
      await openAccounts();
    },
    generate: async () => {
      await Promise.all([deposits(), unroutableWindow()]);
    },
    duplicates,
    poll: (): Promise<Poll> => longLivedPoll(db, setup.broker, total),
    finish: (): Promise<ScenarioOutcome> =>
      checkLongLived({
        db,
        broker: setup.broker,
        log,
        accounts,
        published,
        windows: audit.windows,
        logDir: setup.logDir,
        duplicateAges: { ...ages, oldest },
        deadLetters: () =>
          deadLetterAccess({
            client: setup.client,
            database: options.database,
            rabbitUrl: setup.broker.url,
            prefix: setup.prefix,
            sagaType: ACCOUNT_SAGA,
            logger: options.logger,
          }),
      }),
    stop: () => audit.close(),
  };
}
