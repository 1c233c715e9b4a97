/**
 * A tiny document model every mail is built from, so the plain-text and HTML parts
 * always say the same thing. All values are plain text; the HTML renderer escapes them.
 */
export type Block =
  | { type: 'heading'; text: string }
  | { type: 'paragraph'; text: string }
  | { type: 'facts'; rows: readonly (readonly [label: string, value: string])[] }
  | { type: 'list'; items: readonly ListItem[] }
  | { type: 'link'; label: string; href: string };

export interface ListItem {
  title: string;
  lines: readonly string[];
  /** Rendered with emphasis (a failed destination). */
  alert?: boolean;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
  /** The document itself: webhooks render their Slack and Teams bodies from it (webhook-bodies.ts), so no text exists twice. */
  blocks: readonly Block[];
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

export function renderText(blocks: readonly Block[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    switch (b.type) {
      case 'heading':
        out.push(`${b.text}\n${'='.repeat(Math.min(b.text.length, 72))}`);
        break;
      case 'paragraph':
        out.push(b.text);
        break;
      case 'facts': {
        const width = Math.max(...b.rows.map(([label]) => label.length)) + 1;
        out.push(b.rows.map(([label, value]) => `${`${label}:`.padEnd(width)} ${value}`).join('\n'));
        break;
      }
      case 'list':
        out.push(b.items.map((i) => [`${i.alert ? '!' : '-'} ${i.title}`, ...i.lines.map((l) => `    ${l}`)].join('\n')).join('\n'));
        break;
      case 'link':
        out.push(`${b.label}: ${b.href}`);
        break;
    }
  }
  return out.join('\n\n') + '\n';
}

export function renderHtml(blocks: readonly Block[], lang: string): string {
  const body = blocks
    .map((b) => {
      switch (b.type) {
        case 'heading':
          return `<h2 style="margin:0 0 12px">${escapeHtml(b.text)}</h2>`;
        case 'paragraph':
          return `<p>${escapeHtml(b.text)}</p>`;
        case 'facts':
          return `<table cellpadding="4" style="border-collapse:collapse">${b.rows
            .map(([label, value]) => `<tr><th align="left" valign="top">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`)
            .join('')}</table>`;
        case 'list':
          return `<ul>${b.items
            .map(
              (i) =>
                `<li${i.alert ? ' style="color:#a40000"' : ''}><strong>${escapeHtml(i.title)}</strong>${i.lines
                  .map((l) => `<br>${escapeHtml(l)}`)
                  .join('')}</li>`,
            )
            .join('')}</ul>`;
        case 'link':
          return `<p>${escapeHtml(b.label)}: <a href="${escapeHtml(b.href)}">${escapeHtml(b.href)}</a></p>`;
      }
    })
    .join('\n');
  return `<!DOCTYPE html>\n<html lang="${escapeHtml(lang)}"><head><meta charset="utf-8"></head><body style="font-family:sans-serif">\n${body}\n</body></html>\n`;
}

export function render(subject: string, blocks: readonly Block[], lang: string): RenderedMail {
  return { subject, text: renderText(blocks), html: renderHtml(blocks, lang), blocks };
}
