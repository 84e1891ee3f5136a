/** Runs samples/workflows/workflow-testing.ts, which docs/workflow-testing.md quotes. */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import {
  nobodyVerifies,
  replayStoredHistories,
  verifiesOnTheSecondTry,
} from '../../samples/workflows/workflow-testing.js';

describe('the workflow testing sample', () => {
  it('skips the 3-day wait: nobody verifies, the user is deleted, one mail went to the double', async () => {
    expect(await nobodyVerifies()).toEqual({ outcome: 'deleted', daysWaited: 3, mailsSent: 1 });
  });

  it('a wrong secret, then the right one: activated, and the history replays', async () => {
    const run = await verifiesOnTheSecondTry();
    expect(run).toMatchObject({
      outcome: 'activated',
      active: true,
      replay: { ok: true, ending: 'completed' },
    });
  });

  it('the histories stored with the sample replay against the current code', async () => {
    const results = await replayStoredHistories('samples/workflows/histories');
    expect(results.map((r) => [r.instanceId, r.ok, r.ending])).toEqual([
      ['registration-u-2', true, 'completed'],
      ['registration-u-3', true, 'waiting'],
    ]);
  });

  it('a stored history that no longer matches the code fails the check, naming the position', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'longhaul-histories-'));
    try {
      await cp('samples/workflows/histories', dir, { recursive: true });
      const file = join(dir, 'registration-u-3.json');
      const text = await readFile(join(dir, 'registration-waiting.json'), 'utf8');
      // As if the code that recorded it had sent the mail before registering the user.
      await writeFile(file, text.replace('accounts.RegisterUser', 'accounts.SendVerificationEmail'));
      const [, edited] = await replayStoredHistories(dir);
      expect(edited?.divergence).toMatchObject({
        kind: 'mismatch',
        seq: 0,
        historyIndex: 1,
        recorded: "activity 'accounts.SendVerificationEmail'",
        requested: "activity 'accounts.RegisterUser'",
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the CI recipe: longhaul workflows replay --dir over the stored histories', async () => {
    const out: string[] = [];
    const code = await main(
      [
        'workflows',
        'replay',
        '--module',
        'samples/workflows/user-registration-workflow.ts',
        '--dir',
        'samples/workflows/histories',
      ],
      { out: (text) => void out.push(text), err: (text) => void out.push(text), env: {} },
    );
    expect(out).toEqual([
      expect.stringMatching(/^ok registration-u-2 \(accounts.UserRegistration, completed, 15 events\)/),
      expect.stringMatching(
        /^ok registration-u-3 \(accounts.UserRegistration, running, 12 events\): .* waits on waitForEvent 'accounts.EmailVerificationClicked'/,
      ),
      '2 histories: 2 replay, 0 diverged',
    ]);
    expect(code).toBe(0);
  });
});
