/** The overview: instances by type and status, error queue depths, outbox and timeout health. */
import { INSTANCE_STATUSES, type InstanceCounts } from '../../operations/api.js';
import { html, type SafeHtml } from '../html.js';
import { duration, time } from '../layout.js';
import { type ConsoleSources } from '../options.js';
import { queuesTable } from './errors.js';
import { redactUrl } from '../redact.js';

/** What the overview shows (also the body of `GET /api/overview`). */
export interface Overview {
  /** Absent while the first count is still running (see `ReadingsCache`). */
  readonly counts?: InstanceCounts;
  /** When the counts and the outbox reading were taken. */
  readonly countedAt?: Date;
  /** Depth per configured endpoint; `error` when the queue could not be read. */
  readonly errorQueues: readonly {
    readonly endpoint: string;
    readonly depth?: number;
    readonly error?: string;
  }[];
  readonly outbox?: { readonly oldestPendingAt?: Date; readonly ageMs?: number };
  readonly timeouts?: { readonly nextDueAt?: Date; readonly lagMs?: number };
  readonly readOnly: boolean;
  readonly sources: ConsoleSources;
}

function card(label: string, value: string | SafeHtml, testId: string, hint?: SafeHtml | string): SafeHtml {
  return html`<div class="card" data-testid="${testId}">
    <div class="label">${label}</div>
    <div class="value">${value}</div>
    ${hint ? html`<div class="muted">${hint}</div>` : ''}
  </div>`;
}

/** When the counts were taken (they are a snapshot: see `readings.ts`). */
function countedAt(at: Date | undefined): SafeHtml | undefined {
  return at ? html`<span data-testid="counted-at">counted ${time(at)}</span>` : undefined;
}

/** The overview page's body. */
export function overviewBody(view: Overview): SafeHtml {
  const groups = view.counts?.groups ?? [];
  const counted = (value: () => number): string => (view.counts ? String(value()) : 'counting…');
  const byStatus = (status: string): number =>
    groups.filter((g) => g.status === status).reduce((n, g) => n + g.count, 0);
  const errorsTotal = view.errorQueues.reduce((n, q) => n + (q.depth ?? 0), 0);
  const types = [...new Set(groups.map((g) => `${g.kind}\u0000${g.type}`))].map((key) => {
    const [kind, type] = key.split('\u0000') as [string, string];
    return { kind, type };
  });
  const statuses = INSTANCE_STATUSES.filter((s) => groups.some((g) => g.status === s));
  const cell = (kind: string, type: string, status: string): SafeHtml => {
    const count = groups.find((g) => g.kind === kind && g.type === type && g.status === status)?.count;
    if (!count) return html`<td class="num muted">0</td>`;
    const href = `/instances?${new URLSearchParams({ kind, type, status }).toString()}`;
    return html`<td class="num"><a href="${href}">${count}</a></td>`;
  };
  const outbox = view.outbox;
  const timeouts = view.timeouts;
  return html` <section class="cards">
      ${card(
        'Instances',
        counted(() => view.counts?.total ?? 0),
        'card-total',
        countedAt(view.countedAt),
      )}
      ${card(
        'Running / active',
        counted(() => byStatus('running') + byStatus('active')),
        'card-live',
      )}
      ${card(
        'Parked',
        counted(() => byStatus('parked')),
        'card-parked',
        html`<a href="/instances?status=parked">show</a>`,
      )}
      ${card(
        'Failed',
        counted(() => byStatus('failed')),
        'card-failed',
        html`<a href="/instances?status=failed">show</a>`,
      )}
      ${card('In error queues', String(errorsTotal), 'card-errors', html`<a href="/errors">queues</a>`)}
      ${card(
        'Oldest pending outbox entry',
        outbox === undefined
          ? view.counts
            ? 'n/a'
            : 'reading…'
          : outbox.ageMs === undefined
            ? 'none'
            : duration(outbox.ageMs),
        'card-outbox',
        outbox?.oldestPendingAt ? html`committed ${time(outbox.oldestPendingAt)}` : undefined,
      )}
      ${card(
        'Due-timeout lag',
        timeouts === undefined ? 'n/a' : timeouts.lagMs === undefined ? 'none' : duration(timeouts.lagMs),
        'card-timeouts',
        timeouts?.nextDueAt ? html`next due ${time(timeouts.nextDueAt)}` : undefined,
      )}
    </section>
    <h2>Instances by type and status</h2>
    ${
      !view.counts
        ? html`<p class="muted" data-testid="counting">
            Counting the instances (a large store takes a while); reload in a moment.
          </p>`
        : types.length === 0
          ? html`<p class="muted">No instances yet.</p>`
          : html`<table data-testid="counts">
              <thead>
                <tr>
                  <th>Kind</th>
                  <th>Type</th>
                  ${statuses.map((s) => html`<th class="num">${s}</th>`)}
                </tr>
              </thead>
              <tbody>
                ${types.map(
                  (t) =>
                    html`<tr>
                      <td>${t.kind}</td>
                      <td>
                        <a href="/instances?${new URLSearchParams({ kind: t.kind, type: t.type }).toString()}"
                          >${t.type}</a
                        >
                      </td>
                      ${statuses.map((s) => cell(t.kind, t.type, s))}
                    </tr>`,
                )}
              </tbody>
            </table>`
    }
    <h2>Error queues</h2>
    ${
      view.errorQueues.length === 0
        ? html`<p class="muted">
            No error queues configured (option <code>--error-queue</code>); open
            <code>/errors/&lt;endpoint&gt;</code> directly.
          </p>`
        : queuesTable(view.errorQueues, true)
    }
    <h2>Connection</h2>
    <dl class="facts" data-testid="sources">
      <dt>Broker</dt>
      <dd class="mono">${view.sources.amqp ? redactUrl(view.sources.amqp) : 'in-process'}</dd>
      <dt>Store</dt>
      <dd class="mono">
        ${view.sources.mongo ? redactUrl(view.sources.mongo) : 'in-process'}${view.sources.database ? ` (database ${view.sources.database})` : ''}
      </dd>
      <dt>Mode</dt>
      <dd>
        ${view.readOnly ? 'read-only: actions are refused' : 'actions enabled (each asks for confirmation and is recorded)'}
      </dd>
    </dl>`;
}
