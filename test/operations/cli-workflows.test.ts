/** `longhaul workflows start|signal|cancel|terminate|resume|reset|purge|show|history` on RabbitMQ + FerretDB. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, type ServicesBed, startServices, until } from './services.js';

describe('longhaul workflows steering (CLI, RabbitMQ + FerretDB)', () => {
  let bed: ServicesBed;
  let flags: string[];
  const status = async (id: string): Promise<string | undefined> =>
    (await bed.endpoint.workflows.status(id))?.status;

  beforeAll(async () => {
    bed = await startServices('cli-wf');
    flags = [...bed.flags, '--endpoint', bed.name];
  });
  afterAll(() => bed?.dispose());

  it('starts, signals, shows and lists the history of an instance, text and JSON, recorded', async () => {
    const started = await cli(
      { USER: 'ada' },
      'workflows',
      'start',
      'ops.Approval',
      '--id',
      'w-1',
      '--input',
      '{"customer":"c-5"}',
      '--reason',
      'manual',
      ...flags,
    );
    expect(started).toMatchObject({ code: 0, out: 'w-1', err: '' });
    const json = await cli(
      {},
      'workflows',
      'start',
      'ops.Approval',
      '--input',
      '{"customer":"c-6"}',
      '--json',
      ...flags,
    );
    const { id } = JSON.parse(json.out) as { id: string };
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await until(
      async () => (await status('w-1')) === 'running' && (await status(id)) === 'running',
      'both running',
    );

    const history = await cli({}, 'workflows', 'history', 'w-1', ...flags);
    expect(history.out).toMatch(/^INDEX\s+AT\s+EVENT\s+NAME\n0\s+\d{4}-\S+\s+started/);
    expect(history.out).toMatch(/1\s+\S+\s+scheduled\s+ops\.Approved/);
    const historyJson = JSON.parse(
      (await cli({}, 'workflows', 'history', 'w-1', '--json', ...flags)).out,
    ) as { event: string }[];
    expect(historyJson.map((e) => e.event)).toEqual(['started', 'scheduled']);

    const signal = await cli(
      {},
      'workflows',
      'signal',
      'w-1',
      'ops.Approved',
      '--payload',
      '{"by":"bob"}',
      '--reason',
      'phone call',
      ...flags,
    );
    expect(signal).toMatchObject({ code: 0, out: "Signalled ops.Approved to 'w-1'." });
    await until(async () => (await status('w-1')) === 'completed', 'w-1 completed');
    const shown = await cli({}, 'workflows', 'show', 'w-1', ...flags);
    expect(shown.out).toContain("Workflow ops.Approval 'w-1'");
    expect(shown.out).toContain('Result:    "approved by bob"');
    expect(shown.out).toContain('Labels:    customer=c-5,outcome=approved');
    expect(shown.out).toMatch(/workflow\.signal\s+done\s+\S*\s+ops\.Approved\s+phone call/);
    expect(shown.out).toMatch(/workflow\.start\s+done\s+ada\s+manual/);
    const shownJson = JSON.parse((await cli({}, 'workflows', 'show', 'w-1', '--json', ...flags)).out) as {
      workflow: { result: string };
      actions: { action: string }[];
    };
    expect(shownJson.workflow.result).toBe('approved by bob');
    expect(shownJson.actions.map((a) => a.action)).toEqual(['workflow.signal', 'workflow.start']);
  });

  it('cancels, resumes, resets, terminates and purges, each recorded; reasons are required', async () => {
    await bed.endpoint.workflows.start('ops.Approval', { customer: 'c-7' }, { id: 'w-2' });
    await bed.endpoint.workflows.start('ops.Approval', { customer: 'c-8' }, { id: 'w-3' });
    await until(
      async () => (await status('w-2')) === 'running' && (await status('w-3')) === 'running',
      'running',
    );

    const noReason = await cli({}, 'workflows', 'terminate', 'w-2', ...flags);
    expect(noReason.code).toBe(2);
    expect(noReason.err).toContain('Say why: --reason <text>');
    const noEndpoint = await cli({}, 'workflows', 'resume', 'w-2', ...bed.flags);
    expect(noEndpoint).toMatchObject({ code: 2 });
    expect(noEndpoint.err).toContain('--endpoint <name> (or set LONGHAUL_ENDPOINT)');

    expect((await cli({}, 'workflows', 'resume', 'w-2', '--json', ...flags)).out).toContain(
      '"action": "resume"',
    );
    const reset = await cli(
      {},
      'workflows',
      'reset',
      'w-2',
      '--after-event',
      '0',
      '--reason',
      'rerun',
      ...flags,
    );
    expect(reset).toMatchObject({ code: 0, out: "Reset of 'w-2' to after event 0 requested." });
    await until(async () => (await bed.endpoint.workflows.status('w-2'))?.resets === 1, 'the reset applied');
    const badReset = await cli(
      {},
      'workflows',
      'reset',
      'w-2',
      '--after-event',
      '99',
      '--reason',
      'x',
      ...flags,
    );
    expect(badReset.code).toBe(1);
    expect(badReset.err).toContain('afterEvent must be an event index');

    const cancel = await cli({}, 'workflows', 'cancel', 'w-3', '--reason', 'customer left', ...flags);
    expect(cancel.out).toBe("Cancellation of 'w-3' requested.");
    await until(async () => (await status('w-3')) !== 'running', 'w-3 cancelled');

    const terminate = await cli(
      {},
      'workflows',
      'terminate',
      'w-2',
      '--reason',
      'duplicate',
      '--json',
      ...flags,
    );
    expect(JSON.parse(terminate.out)).toEqual({ id: 'w-2', action: 'terminate', ok: true });
    await until(async () => (await status('w-2')) === 'terminated', 'w-2 terminated');
    const purge = await cli({}, 'workflows', 'purge', 'w-2', '--reason', 'tidy', ...flags);
    expect(purge).toMatchObject({ code: 0, out: "Purged 'w-2'." });
    const again = await cli({}, 'workflows', 'purge', 'w-2', '--json', ...flags);
    expect(again).toMatchObject({ code: 1, err: "longhaul: No workflow instance 'w-2'" });
    expect((await cli({}, 'workflows', 'show', 'w-2', ...flags)).code).toBe(1);

    const actions = await cli(
      {},
      'instances',
      'actions',
      'ops.Approval',
      'w-2',
      '--kind',
      'workflow',
      '--json',
      ...flags,
    );
    expect(
      (JSON.parse(actions.out) as { action: string; outcome: string }[]).map(
        (a) => `${a.action}:${a.outcome}`,
      ),
    ).toEqual([
      'workflow.purge:done',
      'workflow.terminate:done',
      'workflow.reset:failed',
      'workflow.reset:done',
      'workflow.resume:done',
    ]);
    expect((await cli({}, 'workflows', 'signal', 'nobody', 'ops.Approved', ...flags)).err).toContain(
      "No workflow instance 'nobody'",
    );
  });

  it('explains its usage', async () => {
    for (const command of [
      'start',
      'signal',
      'cancel',
      'terminate',
      'resume',
      'reset',
      'purge',
      'show',
      'history',
    ]) {
      const run = await cli({}, 'workflows', command, '--help');
      expect(run.code, command).toBe(0);
      expect(run.out).toMatch(new RegExp(`^Usage: longhaul workflows ${command}`));
    }
    expect((await cli({}, 'workflows', 'start', ...flags)).code).toBe(2);
    expect((await cli({}, 'workflows', 'start', 'ops.Approval', '--input', '{oops', ...flags)).err).toContain(
      '--input must be JSON',
    );
  });
});
