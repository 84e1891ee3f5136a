/** Instance search: by kind, type, status, labels and id; one page of results at a time. */
import {
  INSTANCE_STATUSES,
  type InstanceKind,
  type InstanceQuery,
  type InstanceStatus,
  type InstanceSummary,
  type Page,
} from '../../operations/api.js';
import { html, type SafeHtml } from '../html.js';
import { badRequest } from '../http.js';
import { badge, time } from '../layout.js';

/** The search as parsed from the query string. */
export interface InstanceSearch {
  readonly query: InstanceQuery;
  /** An exact instance id (or saga correlation value) to look up. */
  readonly id?: string;
  readonly limit: number;
  readonly cursor?: string;
  /** The labels as typed (`key=value key2=value2`), to refill the form. */
  readonly labelText: string;
}

/** Parses `kind`, `type`, `status`, `label`, `id`, `limit`, `cursor`; a bad one is a 400 naming it. */
export function parseSearch(params: URLSearchParams): InstanceSearch {
  const known = new Set(['kind', 'type', 'status', 'label', 'id', 'limit', 'cursor']);
  for (const key of params.keys()) if (!known.has(key)) throw badRequest(key, 'not a search parameter');
  const value = (name: string): string | undefined => {
    const all = params.getAll(name).filter((v) => v.trim() !== '');
    if (all.length > 1 && name !== 'label') throw badRequest(name, 'given more than once');
    return all[0]?.trim();
  };
  const kind = value('kind');
  if (kind !== undefined && kind !== 'saga' && kind !== 'workflow') {
    throw badRequest('kind', `expected 'saga' or 'workflow', got '${kind}'`);
  }
  const status = value('status');
  if (status !== undefined && !INSTANCE_STATUSES.includes(status as InstanceStatus)) {
    throw badRequest('status', `expected one of ${INSTANCE_STATUSES.join(', ')}, got '${status}'`);
  }
  const labelText = params
    .getAll('label')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ');
  const labels: Record<string, string> = {};
  for (const pair of labelText.split(/\s+/).filter((p) => p !== '')) {
    const at = pair.indexOf('=');
    if (at <= 0) throw badRequest('label', `expected key=value, got '${pair}'`);
    labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const limitText = value('limit');
  const limit = limitText === undefined ? 50 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    throw badRequest('limit', `expected a whole number from 1 to 500, got '${limitText}'`);
  }
  const type = value('type');
  return {
    query: {
      ...(kind ? { kind: kind as InstanceKind } : {}),
      ...(type ? { type } : {}),
      ...(status ? { status: status as InstanceStatus } : {}),
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
    },
    id: value('id'),
    limit,
    cursor: value('cursor'),
    labelText,
  };
}

/** The path of an instance's page. */
export function instancePath(ref: { kind: string; type: string; id: string }): string {
  return `/instances/${ref.kind}/${encodeURIComponent(ref.type)}/${encodeURIComponent(ref.id)}`;
}

function labelsOf(labels: Readonly<Record<string, string>>): SafeHtml {
  return html`${Object.entries(labels).map(([k, v]) => html`<span class="badge">${k}=${v}</span> `)}`;
}

/** The search page's body: the form and the results. */
export function instancesBody(
  search: InstanceSearch,
  page: Page<InstanceSummary>,
  types: readonly string[],
): SafeHtml {
  const q = search.query;
  const option = (value: string, current: string | undefined, label = value): SafeHtml =>
    html`<option value="${value}" ${value === (current ?? '') ? 'selected' : ''}>${label}</option>`;
  const nextParams = new URLSearchParams();
  if (q.kind) nextParams.set('kind', q.kind);
  if (typeof q.type === 'string') nextParams.set('type', q.type);
  if (typeof q.status === 'string') nextParams.set('status', q.status);
  if (search.labelText) nextParams.set('label', search.labelText);
  if (search.limit !== 50) nextParams.set('limit', String(search.limit));
  if (page.next) nextParams.set('cursor', page.next);
  return html` <form class="search" method="get" action="/instances" data-testid="search">
      <label
        >Labels (key=value …)<input
          name="label"
          value="${search.labelText}"
          placeholder="customer=c-42"
          size="28"
      /></label>
      <label>Instance id<input name="id" value="${search.id ?? ''}" placeholder="o-1" size="18" /></label>
      <label
        >Kind<select name="kind">
          ${option('', q.kind, 'any')}${option('saga', q.kind)}${option('workflow', q.kind)}
        </select></label
      >
      <label
        >Type<select name="type">
          ${option('', typeof q.type === 'string' ? q.type : undefined, 'any')}${types.map((t) => option(t, typeof q.type === 'string' ? q.type : undefined))}
        </select></label
      >
      <label
        >Status<select name="status">
          ${option('', typeof q.status === 'string' ? q.status : undefined, 'any')}${INSTANCE_STATUSES.map((s) => option(s, typeof q.status === 'string' ? q.status : undefined))}
        </select></label
      >
      <button type="submit">Search</button>
      <a class="button secondary" href="/instances">Clear</a>
    </form>
    ${
      page.items.length === 0
        ? html`<p class="muted" data-testid="no-results">No instance matches.</p>`
        : html`<table data-testid="results">
            <thead>
              <tr>
                <th>Id</th>
                <th>Kind</th>
                <th>Type</th>
                <th>Status</th>
                <th>Labels</th>
                <th class="num">Version</th>
                <th>Updated</th>
                <th class="num">Outbox</th>
                <th>Next timeout</th>
              </tr>
            </thead>
            <tbody>
              ${page.items.map(
                (i) =>
                  html`<tr>
                    <td>
                      <a href="${instancePath(i)}" class="mono">${i.id}</a
                      >${i.correlationKey !== i.id ? html`<div class="muted mono">${i.correlationKey}</div>` : ''}
                    </td>
                    <td>${i.kind}</td>
                    <td>${i.type}</td>
                    <td>${badge(i.status)}</td>
                    <td>${labelsOf(i.labels)}</td>
                    <td class="num">${i.version}</td>
                    <td>${time(i.updatedAt)}</td>
                    <td class="num">${i.outboxPending}</td>
                    <td>${time(i.nextTimeoutAt)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    ${page.next ? html`<div class="pager"><a class="button secondary" href="/instances?${nextParams.toString()}">Next page</a></div>` : ''}`;
}
