/** The confirmation page every action goes through: what will happen, the inputs, one button. */
import { type ConsoleAction } from '../actions.js';
import { html, type SafeHtml } from '../html.js';

/** The confirmation form of `action` on the instance at `instanceHref`, prefilled from `given`. */
export function confirmActionBody(
  action: ConsoleAction,
  target: string,
  postTo: string,
  cancelHref: string,
  given: URLSearchParams,
): SafeHtml {
  const input = (name: string): SafeHtml => {
    const value = given.get(name) ?? '';
    switch (name) {
      case 'timeoutId':
        return html`<p>
          <label>Timeout id<br /><input name="timeoutId" value="${value}" required size="60" /></label>
        </p>`;
      case 'entryId':
        return html`<p>
          <label>Outbox entry id<br /><input name="entryId" value="${value}" required size="60" /></label>
        </p>`;
      case 'afterEvent':
        return html`<p>
          <label
            >Keep history up to event #<br /><input
              name="afterEvent"
              value="${value}"
              required
              inputmode="numeric"
              size="6"
          /></label>
        </p>`;
      case 'eventType':
        return html`<p>
          <label
            >Event type (registered message name)<br /><input
              name="eventType"
              value="${value}"
              required
              size="40"
          /></label>
        </p>`;
      default:
        return html`<p>
          <label>Payload (JSON)<br /><textarea name="payload">${value || '{}'}</textarea></label>
        </p>`;
    }
  };
  return html`<div class="confirm" data-testid="confirm">
    <p><strong>${action.label}</strong> on <span class="mono">${target}</span>?</p>
    <p class="muted">${action.explain} The action is recorded on the instance with your reason.</p>
    <form method="post" action="${postTo}">
      ${action.inputs.map(input)}
      <p>
        <label
          >Reason${action.reasonRequired ? ' (required)' : ' (optional)'}<br /><textarea
            name="reason"
            ${action.reasonRequired ? 'required' : ''}
          >
${given.get('reason') ?? ''}</textarea>
        </label>
      </p>
      <div class="actions">
        <button type="submit" class="${action.danger ? 'danger' : ''}" data-testid="confirm-button">
          ${action.label}
        </button>
        <a class="button secondary" href="${cancelHref}">Cancel</a>
      </div>
    </form>
  </div>`;
}

/** The confirmation of an error-queue replay or delete of `ids` (empty: every message). */
export function confirmErrorsBody(
  what: 'replay' | 'delete',
  endpoint: string,
  ids: readonly string[],
  postTo: string,
  cancelHref: string,
): SafeHtml {
  const label = what === 'replay' ? 'Replay' : 'Delete';
  const scope =
    ids.length === 0 ? 'every message' : ids.length === 1 ? `message ${ids[0]}` : `${ids.length} messages`;
  return html`<div class="confirm" data-testid="confirm">
    <p><strong>${label}</strong> ${scope} of the error queue of <span class="mono">${endpoint}</span>?</p>
    <p class="muted">
      ${
        what === 'replay'
          ? 'Each message goes back to the queue of the endpoint it failed on, without its failure headers, and is handled again with a fresh retry budget.'
          : 'The messages are removed for good.'
      }
      The action is recorded.
    </p>
    <form method="post" action="${postTo}">
      ${ids.length === 0 ? html`<input type="hidden" name="all" value="true" />` : ids.map((id) => html`<input type="hidden" name="id" value="${id}" />`)}
      <p>
        <label>Reason (optional)<br /><textarea name="reason"></textarea></label>
      </p>
      <div class="actions">
        <button type="submit" class="${what === 'delete' ? 'danger' : ''}" data-testid="confirm-button">
          ${label}
        </button>
        <a class="button secondary" href="${cancelHref}">Cancel</a>
      </div>
    </form>
  </div>`;
}
