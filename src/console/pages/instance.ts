/** One instance: its facts, the actions that apply, its timeline, state, outbox and timeouts. */
import { type InstanceDetail } from '../../operations/api.js';
import { ACTIONS, type ConsoleAction } from '../actions.js';
import { html, type SafeHtml } from '../html.js';
import { badge, json, time } from '../layout.js';
import { timelineOf } from '../timeline.js';
import { instancePath } from './instances.js';

function actionLink(
  detail: InstanceDetail,
  action: ConsoleAction,
  params: Record<string, string> = {},
  label = action.label,
): SafeHtml {
  const query = new URLSearchParams(params).toString();
  return html`<a
    class="button ${action.danger ? 'danger' : 'secondary'}"
    data-action="${action.name}"
    href="${instancePath(detail)}/actions/${action.name}${query ? `?${query}` : ''}"
    >${label}</a
  >`;
}

/** The event a workflow waits for, to prefill the signal form. */
function signalParams(detail: InstanceDetail): Record<string, string> {
  const waiting = detail.workflow?.pending.find((p) => p.op === 'event');
  return waiting ? { eventType: waiting.name } : {};
}

function byName(name: string): ConsoleAction {
  return ACTIONS.find((a) => a.name === name) as ConsoleAction;
}

/** The instance page's body; `readOnly` hides the action buttons. */
export function instanceBody(detail: InstanceDetail, readOnly: boolean): SafeHtml {
  const wf = detail.workflow;
  const actions = readOnly
    ? []
    : ACTIONS.filter((a) => a.kind === detail.kind && a.inputs.length === 0 && a.applies(detail));
  const extra = readOnly
    ? []
    : ACTIONS.filter((a) => a.kind === detail.kind && a.name === 'signal' && a.applies(detail));
  return html` <dl class="facts" data-testid="facts">
      <dt>Status</dt>
      <dd data-testid="status">
        ${badge(detail.status)}${wf?.reason ? html` <span class="muted">${wf.reason}</span>` : ''}
      </dd>
      <dt>Kind / type</dt>
      <dd>${detail.kind} · ${detail.type}</dd>
      <dt>Id</dt>
      <dd class="mono">${detail.id}</dd>
      ${
        detail.correlationKey !== detail.id
          ? html`<dt>Correlation</dt>
              <dd class="mono">${detail.correlationKey}</dd>`
          : ''
      }
      <dt>Labels</dt>
      <dd data-testid="labels">
        ${Object.keys(detail.labels).length === 0 ? html`<span class="muted">none</span>` : Object.entries(detail.labels).map(([k, v]) => html`<span class="badge">${k}=${v}</span> `)}
      </dd>
      <dt>Version</dt>
      <dd>${detail.version}${detail.stateVersion > 1 ? ` (state shape v${detail.stateVersion})` : ''}</dd>
      <dt>Created</dt>
      <dd>${time(detail.createdAt)}</dd>
      <dt>Updated</dt>
      <dd>${time(detail.updatedAt)}</dd>
      ${
        wf?.finishedAt
          ? html`<dt>Finished</dt>
              <dd>${time(wf.finishedAt)}</dd>`
          : ''
      }
      ${
        detail.retainUntil
          ? html`<dt>Tombstone until</dt>
              <dd>${time(detail.retainUntil)}</dd>`
          : ''
      }
      <dt>Handled ids kept</dt>
      <dd>${detail.dedupe.size}</dd>
    </dl>
    ${
      actions.length + extra.length > 0
        ? html`<div class="actions" data-testid="actions">
            ${[...actions, ...extra].map((a) => actionLink(detail, a, a.name === 'signal' ? signalParams(detail) : {}))}
          </div>`
        : readOnly
          ? html`<p class="muted" data-testid="read-only-note">
              Read-only console: actions are not offered.
            </p>`
          : ''
    }
    <h2>Timeline</h2>
    <ol class="timeline" data-testid="timeline">
      ${timelineOf(detail).map(
        (e) =>
          html`<li class="${e.kind}" data-kind="${e.kind}">
            <span class="when">${time(e.at)}</span
            ><span class="badge ${e.kind === 'error' ? 'error' : e.kind === 'action' ? 'action' : ''}"
              >${e.kind}</span
            >
            ${e.title}${
              e.details === undefined
                ? ''
                : html`<details>
                    <summary>details</summary>
                    ${json(e.details)}
                  </details>`
            }
          </li>`,
      )}
    </ol>
    ${
      wf
        ? workflowPart(detail, readOnly)
        : html`<h2>State</h2>
            ${json(detail.state)}`
    }
    ${detail.outbox.length > 0 ? outboxPart(detail, readOnly) : ''}
    ${detail.timeouts.length > 0 ? timeoutsPart(detail, readOnly) : ''}
    ${
      detail.actions.length > 0
        ? html`<h2>Actions taken</h2>
            <table data-testid="action-log">
              <thead>
                <tr>
                  <th>When</th>
                  <th>Action</th>
                  <th>Outcome</th>
                  <th>By</th>
                  <th>Reason</th>
                  <th>Detail</th>
                </tr>
              </thead>
              <tbody>
                ${detail.actions.map(
                  (a) =>
                    html`<tr>
                      <td>${time(a.at)}</td>
                      <td>${a.action}</td>
                      <td>
                        ${badge(a.outcome, a.outcome === 'done' ? 'done' : 'error')}${a.error ? html` <span class="muted">${a.error}</span>` : ''}
                      </td>
                      <td>${a.by ?? ''}</td>
                      <td>${a.reason}</td>
                      <td class="mono">${a.detail ?? ''}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
        : ''
    }`;
}

function workflowPart(detail: InstanceDetail, readOnly: boolean): SafeHtml {
  const wf = detail.workflow;
  if (!wf) return html``;
  const reset = byName('reset');
  return html` <h2>Input</h2>
    ${json(wf.input)}
    ${
      wf.result !== undefined
        ? html`<h2>Result</h2>
            ${json(wf.result)}`
        : ''
    }
    ${
      wf.failure
        ? html`<h2>Failure</h2>
            ${json(wf.failure)}`
        : ''
    }
    ${
      wf.pending.length > 0
        ? html`<h2>Waiting on</h2>
            <table>
              <thead>
                <tr>
                  <th>Seq</th>
                  <th>Operation</th>
                  <th>Name</th>
                  <th>Since</th>
                </tr>
              </thead>
              <tbody>
                ${wf.pending.map(
                  (p) =>
                    html`<tr>
                      <td>${p.seq}</td>
                      <td>${p.op}</td>
                      <td>${p.name}</td>
                      <td>${time(p.since)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
        : ''
    }
    <h2>History (generation ${wf.generation}${wf.resets > 0 ? `, ${wf.resets} reset(s)` : ''})</h2>
    <table data-testid="history">
      <thead>
        <tr>
          <th class="num">#</th>
          <th>Event</th>
          <th>Name</th>
          <th>At</th>
          <th>Details</th>
          ${readOnly ? '' : html`<th></th>`}
        </tr>
      </thead>
      <tbody>
        ${wf.history.map(
          (e) =>
            html`<tr>
              <td class="num">${e.index}</td>
              <td>${e.event}</td>
              <td>${e.name ?? ''}</td>
              <td>${time(e.at)}</td>
              <td>
                <details>
                  <summary>show</summary>
                  ${json(e.details)}
                </details>
              </td>
              ${
                readOnly
                  ? ''
                  : html`<td>${actionLink(detail, reset, { afterEvent: String(e.index) }, 'Reset here')}</td>`
              }
            </tr>`,
        )}
      </tbody>
    </table>`;
}

function outboxPart(detail: InstanceDetail, readOnly: boolean): SafeHtml {
  return html`<h2>Outbox (pending)</h2>
    <table data-testid="outbox">
      <thead>
        <tr>
          <th>Entry</th>
          <th>Operation</th>
          <th>Message</th>
          <th>To</th>
          <th>Committed</th>
          <th class="num">Attempts</th>
          <th>Next attempt</th>
          <th>Last error</th>
          ${readOnly ? '' : html`<th></th>`}
        </tr>
      </thead>
      <tbody>
        ${detail.outbox.map(
          (o) =>
            html`<tr>
              <td class="mono">${o.id}</td>
              <td>${o.operation}</td>
              <td>${o.messageType ?? ''}</td>
              <td>${o.destination ?? ''}</td>
              <td>${time(o.createdAt)}</td>
              <td class="num">${o.attempts}</td>
              <td>${time(o.nextAttemptAt)}</td>
              <td>${o.lastError ?? ''}</td>
              ${
                readOnly
                  ? ''
                  : html`<td>
                      ${actionLink(detail, byName('retry-outbox'), { entryId: o.id }, 'Retry')}
                      ${actionLink(detail, byName('dead-letter-outbox'), { entryId: o.id }, 'Dead-letter')}
                    </td>`
              }
            </tr>`,
        )}
      </tbody>
    </table>`;
}

function timeoutsPart(detail: InstanceDetail, readOnly: boolean): SafeHtml {
  const saga = detail.kind === 'saga';
  return html`<h2>Pending timeouts</h2>
    <table data-testid="timeouts">
      <thead>
        <tr>
          <th>Id</th>
          <th>Type</th>
          <th>Due</th>
          ${readOnly || !saga ? '' : html`<th></th>`}
        </tr>
      </thead>
      <tbody>
        ${detail.timeouts.map(
          (t) =>
            html`<tr>
              <td class="mono">${t.id}</td>
              <td>${t.type}</td>
              <td>${time(t.dueAt)}</td>
              ${
                readOnly || !saga
                  ? ''
                  : html`<td>
                      ${actionLink(detail, byName('fire-timeout'), { timeoutId: t.id }, 'Fire now')}
                      ${actionLink(detail, byName('cancel-timeout'), { timeoutId: t.id }, 'Cancel')}
                    </td>`
              }
            </tr>`,
        )}
      </tbody>
    </table>`;
}
