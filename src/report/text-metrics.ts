/**
 * Text widths for vega's headless layout. Without a canvas, vega estimates every string as
 * 0.8 × font size per character, about 40% wider than real sans-serif text: long titles then stretch the
 * SVG far beyond the plot and the PNG comes out with a wide blank margin. vega lets a caller replace
 * `textMetrics.width` (vl-convert does the same), and this module does so with per-character advance widths
 * of DejaVu Sans, the font the PNGs are drawn with on Linux. It is the widest common sans-serif, so with
 * Helvetica or Arial the estimate errs towards a little spare room, never towards clipped text.
 */
import * as vega from 'vega';

/** DejaVu Sans advance widths in em (glyph advance / 2048 units per em), rounded to 3 digits. */
const EM: Record<string, number> = {
  ' ': 0.318, '!': 0.4, '"': 0.46, '#': 0.838, $: 0.636, '%': 0.95, '&': 0.78, "'": 0.275, '(': 0.39, ')': 0.39,
  '*': 0.5, '+': 0.838, ',': 0.318, '-': 0.361, '.': 0.318, '/': 0.337, ':': 0.337, ';': 0.337, '<': 0.838,
  '=': 0.838, '>': 0.838, '?': 0.531, '@': 1.0, '[': 0.39, '\\': 0.337, ']': 0.39, _: 0.5, '|': 0.337,
  a: 0.613, b: 0.635, c: 0.55, d: 0.635, e: 0.615, f: 0.352, g: 0.635, h: 0.634, i: 0.278, j: 0.278, k: 0.579,
  l: 0.278, m: 0.974, n: 0.634, o: 0.612, p: 0.635, q: 0.635, r: 0.411, s: 0.521, t: 0.392, u: 0.634, v: 0.592,
  w: 0.818, x: 0.592, y: 0.592, z: 0.525,
  A: 0.684, B: 0.686, C: 0.698, D: 0.77, E: 0.632, F: 0.575, G: 0.775, H: 0.752, I: 0.295, J: 0.295, K: 0.656,
  L: 0.557, M: 0.863, N: 0.748, O: 0.787, P: 0.603, Q: 0.787, R: 0.695, S: 0.635, T: 0.611, U: 0.732, V: 0.684,
  W: 0.989, X: 0.685, Y: 0.611, Z: 0.685,
  '–': 0.5, '—': 1.0, '−': 0.838, '±': 0.838, '≥': 0.838, '≤': 0.838, '×': 0.838, '’': 0.318,
};
const DIGIT = 0.636;
/** Characters outside the table (accents, CJK, ...): a wide guess, so that text is not clipped. */
const OTHER = 0.7;
/** DejaVu Sans Bold is wider: 9% for digits (0.696 em against 0.636), 15-20% for lowercase letters. */
const BOLD = 1.17;

/** Width in pixels of `text` at `fontSize` px; bold weights (>= 600 or "bold") are widened. */
export function estimateTextWidth(text: string, fontSize: number, fontWeight?: string | number): number {
  let em = 0;
  for (const ch of text) em += ch >= '0' && ch <= '9' ? DIGIT : (EM[ch] ?? OTHER);
  const bold = fontWeight === 'bold' || fontWeight === 'bolder' || (typeof fontWeight === 'number' && fontWeight >= 600) || (typeof fontWeight === 'string' && Number(fontWeight) >= 600);
  return em * fontSize * (bold ? BOLD : 1);
}

interface TextItem {
  fontSize?: number;
  fontWeight?: string | number;
  limit?: number;
}

let installed = false;

/** Replaces vega's estimate with `estimateTextWidth`; idempotent. Only the report uses vega in this process. */
export function installTextMetrics(): void {
  if (installed) return;
  installed = true;
  // vega calls width(item, line) once per line; like its own estimate, a missing line measures 0 and a
  // label with a limit is truncated to it (the ellipsis is drawn within the limit).
  // `textMetrics` is exported at run time (vega-scenegraph) but missing from vega's type declarations.
  const { textMetrics } = vega as unknown as { textMetrics: { width: (item: TextItem, text?: unknown) => number } };
  textMetrics.width = (item, text) => {
    const line = text === undefined || text === null ? '' : String(text).trim();
    const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
    const width = estimateTextWidth(line, size, item.fontWeight);
    return item.limit !== undefined && item.limit > 0 ? Math.min(width, item.limit) : width;
  };
}
