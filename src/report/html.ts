/**
 * The report as one self-contained HTML file: inline CSS, figures as base64 PNG data URIs, no scripts and no
 * external URLs, so it opens offline and can be mailed or archived as a single file.
 */
import type { Block } from './sections.ts';

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; } h3 { margin-top: 1.4rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .92rem; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #e4e4e4; vertical-align: top; }
th { background: #f4f6f8; text-align: left; }
td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; }
td.em { font-weight: 600; }
.warnings { border: 2px solid #c0392b; background: #fdf0ee; padding: .6rem 1rem; margin: 1rem 0; }
.warnings h2 { margin: 0; border: none; color: #a93226; font-size: 1.2rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .88rem; color: #555; }
`;

export interface HtmlOptions {
  title: string;
  /** PNG bytes per figure id. */
  images: ReadonlyMap<string, Uint8Array>;
}

function block(b: Block, images: ReadonlyMap<string, Uint8Array>): string {
  switch (b.kind) {
    case 'heading':
      return `<h${b.level}>${escapeHtml(b.text)}</h${b.level}>`;
    case 'paragraph':
      return `<p>${escapeHtml(b.text)}</p>`;
    case 'warnings':
      return `<section class="warnings"><h2>${escapeHtml(b.title)}</h2><ul>${b.items.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul></section>`;
    case 'list':
      return `<ul>${b.items.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>`;
    case 'table': {
      const classes = (c: number, cell: boolean) =>
        [b.columns[c].align === 'right' ? 'r' : '', cell && b.emphasise?.includes(c) ? 'em' : ''].filter(Boolean).join(' ');
      const attr = (c: number, cell: boolean) => (classes(c, cell) ? ` class="${classes(c, cell)}"` : '');
      const head = b.columns.map((c, i) => `<th${attr(i, false)}>${escapeHtml(c.title)}</th>`).join('');
      const rows = b.rows.map((r) => `<tr>${r.map((v, i) => `<td${attr(i, true)}>${escapeHtml(v)}</td>`).join('')}</tr>`).join('\n');
      return `<table><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table>`;
    }
    case 'figure': {
      const png = images.get(b.id);
      if (!png) throw new Error(`HTML report: no image rendered for figure "${b.id}"`);
      const src = `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
      return `<figure><img src="${src}" alt="${escapeHtml(b.alt)}"><figcaption>${escapeHtml(b.caption)}</figcaption></figure>`;
    }
  }
}

export function renderHtml(blocks: readonly Block[], options: HtmlOptions): string {
  const body = blocks.map((b) => block(b, options.images)).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}
