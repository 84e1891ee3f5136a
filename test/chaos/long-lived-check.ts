/**
 * Quiescence and the final check of the long-lived scenario:
 *
 * - every deposit published (once or many times) applied by its account exactly once (the state's
 *   `counts`), its `Credit` applied exactly once (the ledger, by account and seq);
 * - the dead-lettered outbox entries are exactly the `Audit`s sent while `audit` was unroutable:
 *   each dead-lettered entry is an `Audit` sent inside the window (or just before it, by a sweeper
 *   or redelivery that tried it inside), failed as unroutable; each `Audit` sent early enough in
 *   the window to exhaust its attempts there is dead-lettered, not delivered; every other `Audit`
 *   was delivered;
 * - after replaying the dead-lettered entries, every `Audit` applied exactly once and none left;
 * - nothing pending: no outbox entry, no error queue, no message in any queue.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { BSON, type Db } from 'mongodb';
import { type ChaosBroker } from './cluster.js';
import { type DeadLetterAccess } from './dead-letters.js';
import { EFFECTS, type EffectDocument } from './ledger.js';
import {
  statementOf,
  ACCOUNT_SAGA,
  AUDIT_ENDPOINT,
  type AccountState,
  audited,
  AUDIT_SEND_CONFIRMED,
  DEAD_LETTER_SPAN_MS,
  DELETION_RACE_MS,
  SENT_BEFORE_SLACK_MS,
} from './long-lived.js';
import { type Poll, type ScenarioOutcome } from './scenario-driver.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function depths(broker: ChaosBroker): Promise<{ queued: number; errorQueue: number }> {
  const all = await broker.queueDepths();
  const errorQueue = Object.entries(all)
    .filter(([name]) => name.endsWith('.error'))
    .reduce((sum, [, n]) => sum + n, 0);
  return { queued: Object.values(all).reduce((sum, n) => sum + n, 0) - errorQueue, errorQueue };
}

/** Settled: queues empty, no outbox entry pending, a credit for every deposit. */
export async function longLivedPoll(db: Db, broker: ChaosBroker, deposits: number): Promise<Poll> {
  const { queued, errorQueue } = await depths(broker);
  if (queued > 0) return { settled: false, summary: { queued, errorQueue } };
  const sagas = db.collection('longhaul_sagas');
  const outboxPending = await sagas.countDocuments({
    sagaType: ACCOUNT_SAGA,
    outboxSince: { $exists: true },
  });
  const credits = await db.collection(EFFECTS).countDocuments({ kind: 'credit' });
  const timeoutsLeft = await db.collection('longhaul_timeouts').countDocuments({});
  return {
    settled: outboxPending === 0 && credits >= deposits && timeoutsLeft === 0,
    summary: { queued, errorQueue, outboxPending, credits, deposits, timeoutsLeft },
  };
}

export interface LongLivedRun {
  db: Db;
  broker: ChaosBroker;
  log: (line: string) => void;
  accounts: readonly string[];
  /** Deposits published per account (seqs 0..n-1). */
  published: ReadonlyMap<string, number>;
  /** When the audit queue was deleted and declared again (ms since the epoch). */
  windows: readonly { from: number; to?: number }[];
  duplicateAges: Record<string, number>;
  /** The workers' log directory (read for the outbox's lease-overrun warnings). */
  logDir: string;
  /** Opens the operator's access to the dead letters. */
  deadLetters: () => Promise<DeadLetterAccess>;
}

const key = (account: string, seq: number): string => `${account}#${seq}`;

/**
 * What the workers logged that the check needs: the outbox entries they carried out after their
 * claim's lease had ended ("outbox lease overran": another worker may have claimed them meanwhile,
 * and sent or dead-lettered them too), and when the broker confirmed each `Audit` (by key).
 */
export function scanWorkerLogs(logDir: string): {
  overran: Set<string>;
  auditConfirmed: Map<string, number[]>;
} {
  const overran = new Set<string>();
  const auditConfirmed = new Map<string, number[]>();
  let files: string[] = [];
  try {
    files = readdirSync(logDir).filter((f) => f.endsWith('.log'));
  } catch {
    return { overran, auditConfirmed };
  }
  for (const file of files) {
    for (const line of readFileSync(`${logDir}/${file}`, 'utf8').split('\n')) {
      const isOverrun = line.includes('outbox lease overran');
      const isConfirm = line.includes(AUDIT_SEND_CONFIRMED);
      if (!isOverrun && !isConfirm) continue;
      let fields: { entryIds?: string[]; accountId?: string; seq?: number };
      try {
        fields = JSON.parse(line.slice(line.indexOf('{'))) as typeof fields;
      } catch {
        continue; // a line cut by a kill: what it would explain is reported
      }
      if (isOverrun) for (const id of fields.entryIds ?? []) overran.add(id);
      if (isConfirm && fields.accountId !== undefined && fields.seq !== undefined) {
        const k = key(fields.accountId, fields.seq);
        auditConfirmed.set(k, [...(auditConfirmed.get(k) ?? []), Date.parse(line.slice(0, 24))]);
      }
    }
  }
  return { overran, auditConfirmed };
}

/** Counts ledger effects of `kind` by account and seq. */
async function ledgerCounts(
  db: Db,
  kind: 'credit' | 'audit' | 'statement',
): Promise<Map<string, EffectDocument[]>> {
  const docs = await db
    .collection<EffectDocument>(EFFECTS)
    .find({ kind }, { projection: { orderId: 1, seq: 1, sentAt: 1, kind: 1, at: 1 } })
    .toArray();
  const byKey = new Map<string, EffectDocument[]>();
  for (const d of docs) {
    const k = key(d.orderId, d.seq ?? -1);
    byKey.set(k, [...(byKey.get(k) ?? []), d]);
  }
  return byKey;
}

/** The final check; replays the dead-lettered entries on the way. */
export async function checkLongLived(run: LongLivedRun): Promise<ScenarioOutcome> {
  const { db, broker, accounts, published } = run;
  const violations: string[] = [];
  const examples: string[] = [];
  const example = (text: string): void => void (examples.length < 8 && examples.push(text));
  const docs = await db.collection('longhaul_sagas').find({ sagaType: ACCOUNT_SAGA }).toArray();
  const byAccount = new Map(docs.map((d) => [String(d.correlationKey), d]));

  // Deposits (the instance's state) and credits (the ledger).
  const credits = await ledgerCounts(db, 'credit');
  const statements = await ledgerCounts(db, 'statement');
  const tally = {
    depositsLost: 0,
    depositsTwice: 0,
    creditsLost: 0,
    creditsTwice: 0,
    statementsLost: 0,
    statementsTwice: 0,
    openingsTwice: 0,
    unexpected: 0,
  };
  let applied = 0;
  let maxBytes = 0;
  let maxInbox = 0;
  const perAccount: Record<string, number> = {};
  for (const account of accounts) {
    const n = published.get(account) ?? 0;
    const doc = byAccount.get(account);
    const state = doc?.state as AccountState | undefined;
    if (!doc || !state) {
      violations.push(`account ${account} has no active instance`);
      continue;
    }
    applied += state.applied;
    if (state.opened !== 1) {
      tally.openingsTwice += state.opened - 1;
      example(`the opening of ${account} applied ${state.opened} times`);
    }
    perAccount[account] = state.applied;
    maxBytes = Math.max(maxBytes, BSON.calculateObjectSize(doc));
    maxInbox = Math.max(maxInbox, Array.isArray(doc.inbox) ? doc.inbox.length : 0);
    for (let seq = 0; seq < Math.max(n, state.counts.length); seq++) {
      const times = Number(state.counts[seq] ?? '0');
      const creditTimes = credits.get(key(account, seq))?.length ?? 0;
      if (seq >= n) {
        if (times + creditTimes > 0) tally.unexpected++;
        continue;
      }
      if (times === 0) {
        tally.depositsLost++;
        example(`deposit ${seq} of ${account} never applied`);
      }
      if (times > 1) {
        tally.depositsTwice += times - 1;
        example(`deposit ${seq} of ${account} applied ${times} times`);
      }
      if (creditTimes === 0) {
        tally.creditsLost++;
        example(`credit of deposit ${seq} of ${account} lost`);
      }
      if (creditTimes > 1) tally.creditsTwice += creditTimes - 1;
      const statement = statementOf(seq);
      if (statement === undefined) continue;
      // The statement timeout's handling (state) and the statement it sent (ledger).
      for (const times of [
        Number(state.statements[statement] ?? '0'),
        statements.get(key(account, statement))?.length ?? 0,
      ]) {
        if (times === 0) {
          tally.statementsLost++;
          example(`statement ${statement} of ${account} lost`);
        }
        if (times > 1) tally.statementsTwice += times - 1;
      }
    }
  }
  const depositsPublished = [...published.values()].reduce((a, b) => a + b, 0);

  // Dead-lettered entries, before the replay.
  const window = run.windows[0];
  let access: DeadLetterAccess | undefined;
  try {
    access = await run.deadLetters();
  } catch (error) {
    violations.push(`cannot read the dead-lettered entries: ${(error as Error).message}`);
  }
  const audits = await ledgerCounts(db, 'audit');
  const inWindow = (at: number, from: number, to: number): boolean => at >= from && at <= to;
  const deadLettered = (await access?.list()) ?? [];
  const dl = {
    listed: deadLettered.length,
    outsideWindow: 0,
    notAudit: 0,
    notUnroutable: 0,
    missing: 0,
    alsoDelivered: 0,
    /** Dead-lettered, and a copy delivered by an attempt whose outcome its sender lost (accepted). */
    deliveredThenDeadLettered: 0,
    neither: 0,
  };
  if (window?.to === undefined)
    violations.push('the audit destination was never unroutable, or never declared again');
  const deadByKey = new Map(deadLettered.map((d) => [key(String(d.body.accountId), Number(d.body.seq)), d]));
  const deadIds = new Set(deadByKey.keys());
  const { overran, auditConfirmed } = scanWorkerLogs(run.logDir);
  const lostToDeletion = new Set<string>();
  for (const d of deadLettered) {
    if (d.messageType !== 'chaos.Audit' || d.destination !== AUDIT_ENDPOINT) {
      dl.notAudit++;
      example(`dead-lettered ${d.messageType} to ${d.destination}: ${d.reason}`);
      continue;
    }
    const sentAt = Date.parse(String(d.body.sentAt));
    if (window?.to === undefined || !inWindow(sentAt, window.from - SENT_BEFORE_SLACK_MS, window.to)) {
      dl.outsideWindow++;
      example(
        `dead-lettered ${d.messageType} ${String(d.body.seq)} of ${String(d.body.accountId)} sent at ${d.body.sentAt}, outside the window`,
      );
    }
    if (!/unroutable|no queue took/i.test(d.reason)) {
      dl.notUnroutable++;
      example(`dead-lettered for: ${d.reason}`);
    }
  }
  for (const account of accounts) {
    for (let seq = 0; seq < (published.get(account) ?? 0); seq++) {
      if (!audited(seq)) continue;
      const delivered = audits.get(key(account, seq)) ?? [];
      const dead = deadIds.has(key(account, seq));
      if (dead && delivered.length > 0) {
        // At-least-once: a copy routed while the queue existed whose sender lost the outcome (killed
        // before marking it sent, a lost confirm, a lease overrun), after which its later attempts
        // failed as unroutable. Accepted when it was delivered before the window opened or its
        // entry was reported as sent past its lease; any other copy is a spurious dead letter.
        const letter = deadByKey.get(key(account, seq));
        const deliveredAt = delivered[0]?.at?.getTime() ?? 0;
        const explained =
          (window !== undefined && deliveredAt < window.from) ||
          (letter !== undefined && overran.has(letter.entryId));
        if (explained) dl.deliveredThenDeadLettered++;
        else dl.alsoDelivered++;
        example(
          `audit ${seq} of ${account} sent at ${delivered[0]?.sentAt} delivered at ${delivered[0]?.at?.toISOString()} ` +
            `and dead-lettered at ${letter?.deadLetteredAt?.toISOString?.()} (${letter?.reason}); window ` +
            `${new Date(window?.from ?? 0).toISOString()} to ${new Date(window?.to ?? 0).toISOString()}` +
            `${explained ? ' (an at-least-once copy: accepted)' : ''}`,
        );
      }
      if (access && !dead && delivered.length === 0) {
        // Confirmed by RabbitMQ as the queue was deleted: routed to it, then dropped with it (a
        // deleted queue's unconfirmed messages are confirmed). The harness's deletion, racing a
        // send, lost it; the outbox did its part. Anything else is a lost audit.
        const confirms = auditConfirmed.get(key(account, seq)) ?? [];
        const race =
          window !== undefined && confirms.some((at) => Math.abs(at - window.from) <= DELETION_RACE_MS);
        if (race) {
          lostToDeletion.add(key(account, seq));
          example(
            `audit ${seq} of ${account} confirmed by the broker at ${new Date(confirms[0]!).toISOString()} as its queue was deleted (${new Date(window!.from).toISOString()}): dropped with the queue (accepted)`,
          );
        } else dl.neither++;
      }
      const sentAt = Date.parse(delivered[0]?.sentAt ?? '');
      if (
        window?.to !== undefined &&
        !dead &&
        inWindow(sentAt, window.from, window.to - DEAD_LETTER_SPAN_MS)
      ) {
        dl.missing++;
        example(
          `audit ${seq} of ${account} sent while unroutable (${delivered[0]?.sentAt}) was delivered, not dead-lettered`,
        );
      }
    }
  }
  if (dl.notAudit > 0) violations.push(`${dl.notAudit} dead-lettered entr(ies) other than an Audit`);
  if (dl.outsideWindow > 0)
    violations.push(`${dl.outsideWindow} dead-lettered entr(ies) not sent while unroutable`);
  if (dl.notUnroutable > 0) violations.push(`${dl.notUnroutable} dead-lettered entr(ies) for another reason`);
  if (dl.missing > 0) violations.push(`${dl.missing} audit(s) sent while unroutable not dead-lettered`);
  if (dl.alsoDelivered > 0) violations.push(`${dl.alsoDelivered} dead-lettered audit(s) also delivered`);
  if (dl.neither > 0) violations.push(`${dl.neither} audit(s) neither delivered nor dead-lettered`);

  // Replay, then every audit exactly once.
  let replayed = 0;
  let replaySeconds = 0;
  if (access && dl.listed > 0) {
    const started = Date.now();
    const result = await access.replayAll();
    replayed = result.replayed;
    if (result.failed.length > 0)
      violations.push(`${result.failed.length} replay(s) failed, e.g. ${result.failed[0]}`);
    const expected =
      accounts.reduce((sum, a) => sum + countAudited(published.get(a) ?? 0), 0) - lostToDeletion.size;
    for (let waited = 0; waited < 120_000; waited += 1000) {
      const n = await db.collection(EFFECTS).countDocuments({ kind: 'audit' });
      if (n >= expected && (await depths(broker)).queued === 0) break;
      await sleep(1000);
    }
    replaySeconds = (Date.now() - started) / 1000;
    const left = (await access.list()).length;
    if (left > 0) violations.push(`${left} dead-lettered entr(ies) left after the replay`);
  }
  await access?.close();
  const auditsAfter = await ledgerCounts(db, 'audit');
  let auditsLost = 0;
  let auditsTwice = 0;
  for (const account of accounts)
    for (let seq = 0; seq < (published.get(account) ?? 0); seq++) {
      if (!audited(seq)) continue;
      const n = auditsAfter.get(key(account, seq))?.length ?? 0;
      if (n === 0 && lostToDeletion.has(key(account, seq))) continue;
      if (n === 0) {
        auditsLost++;
        example(`audit ${seq} of ${account} lost`);
      }
      if (n > 1) auditsTwice += n - 1;
    }

  const outboxPending = docs.filter((d) => Array.isArray(d.outbox) && d.outbox.length > 0).length;
  const { queued, errorQueue } = await depths(broker);
  const timeoutsLeft = await db.collection('longhaul_timeouts').countDocuments({});
  const lost = tally.depositsLost + tally.creditsLost + tally.statementsLost + auditsLost;
  const twice =
    tally.openingsTwice + tally.depositsTwice + tally.creditsTwice + tally.statementsTwice + auditsTwice;
  if (lost > 0) violations.push(`${lost} effect(s) lost`);
  if (twice > 0) violations.push(`${twice} effect(s) applied twice`);
  if (tally.unexpected > 0) violations.push(`${tally.unexpected} unexpected effect(s)`);
  if (outboxPending > 0) violations.push(`${outboxPending} instance(s) with outbox entries pending`);
  if (errorQueue > 0) violations.push(`${errorQueue} message(s) in the error queues`);
  if (timeoutsLeft > 0) violations.push(`${timeoutsLeft} timeout(s) left in the store`);
  if (queued > 0) violations.push(`${queued} message(s) left in queues`);
  if (violations.length > 0) violations.push(...examples.map((e) => `  e.g. ${e}`));
  const windowSeconds = window?.to === undefined ? undefined : (window.to - window.from) / 1000;
  const json = {
    accounts: accounts.length,
    depositsPublished,
    depositsApplied: applied,
    appliedPerAccount: perAccount,
    duplicateAges: run.duplicateAges,
    effects: { ...tally, auditsLost, auditsTwice },
    effectsLost: lost,
    effectsAppliedTwice: twice,
    unroutableSeconds: windowSeconds,
    deadLetters: { ...dl, replayed, replaySeconds },
    leaseOverruns: overran.size,
    droppedWithDeletedQueue: lostToDeletion.size,
    largestInstanceBytes: maxBytes,
    largestInbox: maxInbox,
    outboxPending,
    timeoutsLeft,
    errorQueue,
    messagesLeftInQueues: queued,
  };
  return {
    violations,
    json,
    lines: [
      ['accounts (deposits applied each)', JSON.stringify(perAccount)],
      ['deposits published / applied', `${depositsPublished} / ${applied}`],
      ['deposit duplicates by age (messages)', JSON.stringify(run.duplicateAges)],
      ['audit unroutable (s)', windowSeconds?.toFixed(1) ?? 'never'],
      ['dead-lettered entries (all Audits sent while unroutable)', dl.listed],
      ['  of which a copy was delivered before (sender lost the outcome)', dl.deliveredThenDeadLettered],
      ['outbox entries sent past their lease (logged)', overran.size],
      ['audits confirmed as their queue was deleted (dropped with it)', lostToDeletion.size],
      ['  replayed (s to deliver)', `${replayed} (${replaySeconds.toFixed(1)})`],
      ['largest instance (bytes; inbox ids)', `${maxBytes}; ${maxInbox}`],
      ['effects', JSON.stringify({ ...tally, auditsLost, auditsTwice })],
      ['EFFECTS LOST', lost],
      ['EFFECTS APPLIED TWICE', twice],
      ['error queue', errorQueue],
      ['outbox entries pending', outboxPending],
      ['timeouts left', timeoutsLeft],
      ['messages left in queues', queued],
    ],
  };
}

function countAudited(n: number): number {
  let count = 0;
  for (let seq = 0; seq < n; seq++) if (audited(seq)) count++;
  return count;
}
