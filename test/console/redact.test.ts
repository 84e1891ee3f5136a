import { describe, expect, it } from 'vitest';
import { redactText, redactUrl } from '../../src/console/redact.js';
import { escapeHtml, html, raw } from '../../src/console/html.js';

describe('console redaction', () => {
  it('drops the password of a connection URL and keeps the rest', () => {
    expect(redactUrl('amqp://guest:s3cret@rabbit:5672/vhost')).toBe('amqp://guest:***@rabbit:5672/vhost');
    expect(redactUrl('mongodb://app:p%40ss@db1:27017,db2:27017/x?authSource=admin')).not.toContain('p%40ss');
    expect(redactUrl('mongodb://db:27017/?password=hunter2&tls=true')).toBe(
      'mongodb://db:27017/?password=***&tls=true',
    );
    expect(redactUrl('amqp://localhost')).toBe('amqp://localhost');
  });

  it('masks credentials quoted inside any text', () => {
    const text = 'connect failed: amqps://ops:Tr0ub4dor@mq.internal:5671 (token=abc123 retry)';
    const shown = redactText(text);
    expect(shown).not.toContain('Tr0ub4dor');
    expect(shown).not.toContain('abc123');
    expect(shown).toContain('amqps://ops:***@mq.internal:5671');
  });
});

describe('console html', () => {
  it('escapes interpolated text but not markup built by html or raw', () => {
    const name = '<script>alert("x")</script>';
    expect(html`<td>${name}</td>`.text).toBe(`<td>${escapeHtml(name)}</td>`);
    expect(html`<p>${html`<b>${'a&b'}</b>`}${raw('<i>ok</i>')}</p>`.text).toBe(
      '<p><b>a&amp;b</b><i>ok</i></p>',
    );
    expect(html`${[1, 'x', null, undefined, false]}`.text).toBe('1x');
  });
});
