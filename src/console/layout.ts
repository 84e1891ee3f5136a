/** The page shell: navigation, the read-only badge, flash messages and the page body. */
import { html, type HtmlValue, type SafeHtml } from './html.js';

/** What every page's shell needs to know. */
export interface PageContext {
  /** The console's title (the header). */
  readonly title: string;
  readonly readOnly: boolean;
  /** The console's clock reading, for "ago" times (a virtual clock in the demo). */
  readonly now: Date;
  /** The current path, to mark the current section. */
  readonly path: string;
  /** A one-line outcome to show at the top (after an action). */
  readonly flash?: { readonly kind: 'ok' | 'bad' | 'warn'; readonly text: string };
}

const SECTIONS: readonly { readonly href: string; readonly label: string }[] = [
  { href: '/', label: 'Overview' },
  { href: '/instances', label: 'Instances' },
  { href: '/errors', label: 'Error queues' },
];

/** A full page: `heading` in the title bar and as the `h1`. */
export function layout(ctx: PageContext, heading: string, body: HtmlValue): SafeHtml {
  const current = (href: string): boolean =>
    href === '/' ? ctx.path === '/' : ctx.path === href || ctx.path.startsWith(`${href}/`);
  return html`<html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>${heading} · ${ctx.title}</title>
      <link rel="stylesheet" href="/assets/console.css" />
    </head>
    <body data-now="${ctx.now.toISOString()}">
      <header class="top">
        <a class="brand" href="/">${ctx.title}</a>
        <nav>
          ${SECTIONS.map(
            (s) => html`<a href="${s.href}" class="${current(s.href) ? 'current' : ''}">${s.label}</a> `,
          )}
        </nav>
        <span class="mode" data-testid="mode">${ctx.readOnly ? 'read-only' : 'actions enabled'}</span>
      </header>
      <main>
        ${ctx.flash ? html`<div class="alert ${ctx.flash.kind}" role="status">${ctx.flash.text}</div>` : ''}
        <h1>${heading}</h1>
        ${body}
      </main>
      <script src="/assets/console.js"></script>
    </body>
  </html>`;
}

/** A `<time>` element (the script shows it in the browser's zone, with "ago"). */
export function time(at: Date | string | undefined): SafeHtml {
  if (at === undefined) return html`<span class="muted">—</span>`;
  const iso = typeof at === 'string' ? at : at.toISOString();
  return html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>`;
}

/** A status badge. */
export function badge(text: string, kind: string = text): SafeHtml {
  return html`<span class="badge ${kind}">${text}</span>`;
}

/** A value as indented JSON in a `<pre>`. */
export function json(value: unknown): SafeHtml {
  return html`<pre>${JSON.stringify(value, null, 2) ?? 'undefined'}</pre>`;
}

/** A duration in ms as `1h 2m`, `3.4s`, `120ms`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const parts: string[] = [];
  let rest = Math.floor(ms / 1000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}
