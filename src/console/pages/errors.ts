/** The error-queue pages: the endpoints' queues, one queue's messages, one message. */
import { type ActionRecord, type ErrorMessageView } from '../../operations/api.js';
import { html, type SafeHtml } from '../html.js';
import { badge, json, time } from '../layout.js';

/** The path of an endpoint's error queue page. */
export function queuePath(endpoint: string): string {
  return `/errors/${encodeURIComponent(endpoint)}`;
}

/** An error queue as the overview and the queue list show it: its depth, or why it could not be read. */
export interface QueueDepth {
  readonly endpoint: string;
  readonly depth?: number;
  readonly error?: string;
}

/**
 * The table of error queues with their depths, each linked to its page. A queue that could not be
 * read shows its error, or (`compactErrors`, on the overview) an "unreadable" badge with the error
 * as its title.
 */
export function queuesTable(queues: readonly QueueDepth[], compactErrors = false): SafeHtml {
  return html`<table data-testid="error-queues">
    <thead>
      <tr>
        <th>Endpoint</th>
        <th class="num">Messages</th>
      </tr>
    </thead>
    <tbody>
      ${queues.map(
        (q) =>
          html`<tr>
            <td><a href="${queuePath(q.endpoint)}">${q.endpoint}</a></td>
            <td class="num">
              ${
                !q.error
                  ? String(q.depth)
                  : compactErrors
                    ? html`<span class="badge error" title="${q.error}">unreadable</span>`
                    : html`<span class="badge error">${q.error}</span>`
              }
            </td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** The list of error queues with their depths. */
export function queuesBody(queues: readonly QueueDepth[]): SafeHtml {
  return html`${
      queues.length === 0
        ? html`<p class="muted">
            No error queues configured: start the console with
            <code>--error-queue &lt;endpoint&gt;</code>
            (repeatable), or open <code>/errors/&lt;endpoint&gt;</code>.
          </p>`
        : queuesTable(queues)
    }
    <form class="search" method="get" action="/errors/open">
      <label>Open an endpoint's queue<input name="endpoint" placeholder="billing" required /></label
      ><button type="submit">Open</button>
    </form>`;
}

function oneLine(text: string | undefined, width: number): string {
  const flat = (text ?? '').replace(/\s+/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

/** One queue's messages, oldest first, with replay and delete (unless read-only). */
export function queueBody(
  endpoint: string,
  messages: readonly ErrorMessageView[],
  depth: number,
  readOnly: boolean,
  actions: readonly ActionRecord[] = [],
): SafeHtml {
  const base = queuePath(endpoint);
  return html`${queueMessages(endpoint, messages, depth, readOnly, base)}
  ${actionsTaken(endpoint, actions, true)}`;
}

/**
 * The replays and deletes recorded on a queue or one message, newest first: the messages they
 * acted on have left the queue, the records stay.
 */
export function actionsTaken(
  endpoint: string,
  actions: readonly ActionRecord[],
  perMessage: boolean,
): SafeHtml {
  if (actions.length === 0) return html``;
  const base = queuePath(endpoint);
  return html`<h2>Actions taken</h2>
    <table data-testid="queue-actions">
      <thead>
        <tr>
          <th>When</th>
          <th>Action</th>
          ${perMessage ? html`<th>Message id</th>` : ''}
          <th>Outcome</th>
          <th>By</th>
          <th>Reason</th>
        </tr>
      </thead>
      <tbody>
        ${actions.map(
          (a) =>
            html`<tr data-action-id="${a.id}">
              <td>${time(a.at)}</td>
              <td>${a.action}</td>
              ${
                perMessage
                  ? html`<td>
                      <a class="mono" href="${base}/messages/${encodeURIComponent(a.target.id)}"
                        >${a.target.id}</a
                      >
                    </td>`
                  : ''
              }
              <td>
                ${badge(a.outcome, a.outcome === 'done' ? 'done' : 'error')}${a.error ? html` <span class="muted">${a.error}</span>` : ''}
              </td>
              <td>${a.by ?? ''}</td>
              <td>${a.reason}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

function queueMessages(
  endpoint: string,
  messages: readonly ErrorMessageView[],
  depth: number,
  readOnly: boolean,
  base: string,
): SafeHtml {
  return html`<p class="muted" data-testid="depth">
      ${depth} message(s) in
      <span class="mono">${endpoint}.error</span
      >${messages.length < depth ? `, the first ${messages.length} shown` : ''}.
    </p>
    ${
      messages.length === 0
        ? html`<p data-testid="empty">The error queue is empty.</p>`
        : html`${readOnly ? '' : html`<div class="actions"><a class="button secondary" href="${base}/replay" data-action="replay-all">Replay all</a> <a class="button danger" href="${base}/delete" data-action="delete-all">Delete all</a></div>`}
            <table data-testid="messages">
              <thead>
                <tr>
                  <th>Message id</th>
                  <th>Type</th>
                  <th>Reason</th>
                  <th class="num">Attempts</th>
                  <th>Failed</th>
                  <th>Error</th>
                  ${readOnly ? '' : html`<th></th>`}
                </tr>
              </thead>
              <tbody>
                ${messages.map(
                  (m) =>
                    html`<tr data-message-id="${m.messageId}">
                      <td>
                        <a class="mono" href="${base}/messages/${encodeURIComponent(m.messageId)}"
                          >${m.messageId || '(no id)'}</a
                        >
                      </td>
                      <td>${m.type ?? ''}</td>
                      <td><span class="badge error">${m.reason}</span></td>
                      <td class="num">${m.attempts ?? ''}</td>
                      <td>${time(m.failedAt)}</td>
                      <td>${oneLine(m.error, 100)}</td>
                      ${
                        readOnly
                          ? ''
                          : html`<td>
                              <a
                                class="button secondary"
                                data-action="replay"
                                href="${base}/replay?${new URLSearchParams({ id: m.messageId }).toString()}"
                                >Replay</a
                              >
                            </td>`
                      }
                    </tr>`,
                )}
              </tbody>
            </table>`
    }`;
}

function bodyShown(message: ErrorMessageView): SafeHtml {
  if (message.body.encoding === 'utf8') {
    try {
      return json(JSON.parse(message.body.text));
    } catch {
      // not JSON: shown as text below
    }
  }
  return html`<pre>${message.body.text}</pre>`;
}

/** One failed message: why, its headers and body. */
export function messageBody(
  endpoint: string,
  message: ErrorMessageView,
  readOnly: boolean,
  actions: readonly ActionRecord[] = [],
): SafeHtml {
  const base = queuePath(endpoint);
  const stack = message.headers['longhaul.error.stack'];
  return html`<dl class="facts" data-testid="message">
      <dt>Endpoint</dt>
      <dd><a href="${base}">${endpoint}</a> (replays to ${message.source})</dd>
      <dt>Type</dt>
      <dd>${message.type ?? ''}</dd>
      <dt>Reason</dt>
      <dd><span class="badge error">${message.reason}</span></dd>
      <dt>Error</dt>
      <dd>${message.error ?? ''}</dd>
      <dt>Attempts</dt>
      <dd>${message.attempts ?? ''}</dd>
      <dt>Failed</dt>
      <dd>${time(message.failedAt)}</dd>
    </dl>
    ${readOnly ? '' : html`<div class="actions"><a class="button secondary" data-action="replay" href="${base}/replay?${new URLSearchParams({ id: message.messageId }).toString()}">Replay</a> <a class="button danger" data-action="delete" href="${base}/delete?${new URLSearchParams({ id: message.messageId }).toString()}">Delete</a></div>`}
    <h2>Body (${message.body.encoding})</h2>
    ${bodyShown(message)}
    <h2>Headers</h2>
    <table>
      <tbody>
        ${Object.entries(message.headers)
          .filter(([key]) => key !== 'longhaul.error.stack')
          .map(
            ([key, value]) =>
              html`<tr>
                <td class="mono">${key}</td>
                <td class="mono">${value}</td>
              </tr>`,
          )}
      </tbody>
    </table>
    ${
      stack
        ? html`<h2>Stack</h2>
            <pre>${stack}</pre>`
        : ''
    }
    ${actionsTaken(endpoint, actions, false)}`;
}
