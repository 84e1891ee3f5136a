/**
 * Testing a workflow with `longhaul/testing` (docs/workflow-testing.md quotes this file, and
 * test/workflows/workflow-testing-sample.test.ts runs it): the user registration of
 * user-registration-workflow.ts, its three days of waiting skipped, its e-mail activity replaced
 * by a double, and its stored histories replayed against the current code.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type HistoryReplayResult,
  replayHistory,
  type WorkflowHistory,
  WorkflowTestKit,
} from '../../src/testing/index.js';
import {
  EmailVerificationClicked,
  registrationActivities,
  SendVerificationEmail,
  UserDirectory,
  UserRegistrationWorkflow,
} from './user-registration-workflow.js';

/** Starts a kit with the real activities, the e-mail replaced by a double that keeps the mails. */
export async function registrationKit(): Promise<{
  kit: WorkflowTestKit;
  mails: { email: string; secret: string }[];
}> {
  const mails: { email: string; secret: string }[] = [];
  const kit = await WorkflowTestKit.start({
    workflows: [UserRegistrationWorkflow],
    activities: registrationActivities,
    doubles: [[SendVerificationEmail, (mail: { email: string; secret: string }) => void mails.push(mail)]],
    configure: (container) => container.bind(UserDirectory).toSelf().inSingletonScope(),
  });
  return { kit, mails };
}

/** Nobody clicks: after 3 days (skipped) the user is deleted. */
export async function nobodyVerifies(): Promise<{ outcome: string; daysWaited: number; mailsSent: number }> {
  const { kit, mails } = await registrationKit();
  try {
    const startedAt = kit.clock.now().getTime();
    const outcome = await kit.execute(UserRegistrationWorkflow, { userId: 'u-1', email: 'ada@example.com' });
    return {
      outcome,
      daysWaited: (kit.clock.now().getTime() - startedAt) / 86_400_000,
      mailsSent: mails.length,
    };
  } finally {
    await kit.stop();
  }
}

/** A wrong secret after a day, the right one after two: activated; the history replays. */
export async function verifiesOnTheSecondTry(): Promise<{
  outcome: string;
  active: boolean;
  replay: HistoryReplayResult;
  history: WorkflowHistory;
}> {
  const { kit, mails } = await registrationKit();
  try {
    const registration = await kit.start(
      UserRegistrationWorkflow,
      { userId: 'u-2', email: 'bob@example.com' },
      { id: 'registration-u-2' },
    );
    await kit.advance('1d');
    await registration.signal(EmailVerificationClicked, new EmailVerificationClicked('not-the-secret'));
    await kit.advance('1d');
    await registration.signal(EmailVerificationClicked, new EmailVerificationClicked(mails[0]?.secret ?? ''));
    const outcome = await registration.result();
    const active = kit.sagaKit.container.get(UserDirectory).users.get('u-2')?.active ?? false;
    return { outcome, active, replay: await registration.replay(), history: await registration.history() };
  } finally {
    await kit.stop();
  }
}

/**
 * The replay test a team keeps in its suite: every history stored under `dir` (exported with
 * `longhaul workflows export` or `client.history(id)`) must replay against the current code.
 */
export async function replayStoredHistories(dir: string): Promise<HistoryReplayResult[]> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (name) =>
      replayHistory([UserRegistrationWorkflow], await readFile(join(dir, name), 'utf8')),
    ),
  );
}
