/**
 * The report as Markdown (GitHub-flavoured tables) with figures linked as PNG files beside it, for reading
 * in a repository browser or pasting into notes.
 */
import type { Block } from './sections.ts';

/** Escapes what would break a table cell or start markup; pipes end a cell, backslashes and * _ ` format. */
export function escapeMarkdown(text: string): string {
  return text.replace(/([\\`*_|<>[\]])/g, '\\$1').replace(/\r?\n/g, ' ');
}

export interface MarkdownOptions {
  /** Path of a figure's PNG relative to the Markdown file, e.g. "report/roc.png". */
  imagePath: (id: string) => string;
}

function block(b: Block, options: MarkdownOptions): string {
  switch (b.kind) {
    case 'heading':
      return `${'#'.repeat(b.level)} ${escapeMarkdown(b.text)}`;
    case 'paragraph':
      return escapeMarkdown(b.text);
    case 'warnings':
      // A blockquote with a bold title is the most visible thing plain Markdown has.
      return [`> **⚠ ${escapeMarkdown(b.title)}**`, '>', ...b.items.map((i) => `> - ${escapeMarkdown(i)}`)].join('\n');
    case 'list':
      return b.items.map((i) => `- ${escapeMarkdown(i)}`).join('\n');
    case 'table': {
      const head = `| ${b.columns.map((c) => escapeMarkdown(c.title)).join(' | ')} |`;
      const rule = `| ${b.columns.map((c) => (c.align === 'right' ? '---:' : ':---')).join(' | ')} |`;
      const rows = b.rows.map((r) => `| ${r.map((v, i) => (b.emphasise?.includes(i) ? `**${escapeMarkdown(v)}**` : escapeMarkdown(v))).join(' | ')} |`);
      return [head, rule, ...rows].join('\n');
    }
    case 'figure':
      return `![${escapeMarkdown(b.alt)}](${options.imagePath(b.id)})\n\n*${escapeMarkdown(b.caption)}*`;
  }
}

export function renderMarkdown(blocks: readonly Block[], options: MarkdownOptions): string {
  return `${blocks.map((b) => block(b, options)).join('\n\n')}\n`;
}
