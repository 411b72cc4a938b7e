/** Number formatting shared by the HTML and Markdown reports, so both print identical figures. */
import type { MetricCell } from './run-dir.ts';

/** A dash for undefined values (e.g. ROC-AUC of a one-class group), never "NaN" or "null". */
export const MISSING = '—';

export function num(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined || !Number.isFinite(x) ? MISSING : x.toFixed(digits);
}

export function pct(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? MISSING : `${(100 * x).toFixed(digits)}%`;
}

export function meanStd(mean: number | null, std: number | null, digits = 3): string {
  if (mean === null || !Number.isFinite(mean)) return MISSING;
  return std === null ? num(mean, digits) : `${num(mean, digits)} ± ${num(std, digits)}`;
}

export function cell(c: MetricCell, digits = 3): string {
  return c === null ? MISSING : meanStd(c.mean, c.std, digits);
}

export function interval(ci: [number, number] | null, digits = 3): string {
  return ci === null ? MISSING : `${num(ci[0], digits)}–${num(ci[1], digits)}`;
}
