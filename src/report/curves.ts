/**
 * ROC and precision-recall curves of one set of scores, and their values on a fixed grid.
 *
 * The points follow the same conventions as the project's metrics, so that a plotted curve and the number
 * printed beside it describe the same thing:
 *  - thresholds are the distinct scores from high to low, tied scores entering together ("positive iff
 *    score >= threshold", as `confusionAtThreshold`); sorting alone would order ties arbitrarily;
 *  - the ROC curve is piecewise linear between those points, so its area is `rocAuc` (sklearn's trapezoid);
 *  - the PR curve is the step function of average precision: precision at recall r is the precision of the
 *    first threshold whose recall reaches r, so its area is exactly `averagePrecision`. A straight line
 *    between PR points would read higher than the metric, which is why it is not drawn that way.
 */
import { validateBinaryInputs } from '../eval/metrics/index.ts';

export interface RocPoint {
  /** Score threshold of the point (Infinity for the (0, 0) start: nothing predicted positive). */
  threshold: number;
  fpr: number;
  tpr: number;
}

export interface PrPoint {
  threshold: number;
  recall: number;
  precision: number;
}

interface CumulativeCounts {
  thresholds: number[];
  tp: number[];
  fp: number[];
  positives: number;
  negatives: number;
}

/** Cumulative true/false positives at each distinct score, from the highest score down. */
function cumulativeCounts(labels: ArrayLike<number>, scores: ArrayLike<number>, metric: string): CumulativeCounts {
  const positives = validateBinaryInputs(labels, scores, metric);
  const n = labels.length;
  const s = Float64Array.from(scores);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => s[b] - s[a]);
  const out: CumulativeCounts = { thresholds: [], tp: [], fp: [], positives, negatives: n - positives };
  let tp = 0;
  let fp = 0;
  let i = 0;
  while (i < n) {
    const value = s[order[i]];
    while (i < n && s[order[i]] === value) {
      if (labels[order[i]] === 1) tp++;
      else fp++;
      i++;
    }
    out.thresholds.push(value);
    out.tp.push(tp);
    out.fp.push(fp);
  }
  return out;
}

/**
 * ROC points from (0, 0) to (1, 1), one per distinct score.
 * @throws Error when only one class is present (FPR or TPR would be 0/0), as `rocAuc` does.
 */
export function rocCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): RocPoint[] {
  const c = cumulativeCounts(labels, scores, 'ROC curve');
  if (c.positives === 0 || c.negatives === 0) {
    throw new Error(`ROC curve is undefined: only one class (${c.positives} positives, ${c.negatives} negatives)`);
  }
  const points: RocPoint[] = [{ threshold: Infinity, fpr: 0, tpr: 0 }];
  for (let k = 0; k < c.thresholds.length; k++) {
    points.push({ threshold: c.thresholds[k], fpr: c.fp[k] / c.negatives, tpr: c.tp[k] / c.positives });
  }
  return points;
}

/**
 * PR points, one per distinct score (no artificial (0, 1) start: the step rule of `precisionAtRecall` needs
 * none, and sklearn's extra point is a plotting convention, not an operating point).
 * @throws Error when there are no positives (recall is 0/0), as `averagePrecision` does.
 */
export function prCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): PrPoint[] {
  const c = cumulativeCounts(labels, scores, 'PR curve');
  if (c.positives === 0) {
    throw new Error(`PR curve is undefined: no positive labels (0 positives, ${c.negatives} negatives)`);
  }
  return c.thresholds.map((threshold, k) => ({
    threshold,
    recall: c.tp[k] / c.positives,
    precision: c.tp[k] / (c.tp[k] + c.fp[k]),
  }));
}

/** `count` evenly spaced values from 0 to 1 inclusive, computed as i/(count−1) so that 0.5 is exactly 0.5. */
export function unitGrid(count: number): number[] {
  if (!Number.isInteger(count) || count < 2) throw new Error(`unitGrid: count is ${count}, expected an integer >= 2`);
  return Array.from({ length: count }, (_, i) => i / (count - 1));
}

/**
 * TPR of the (linearly interpolated) ROC curve at each FPR of `grid` (ascending). Where the curve is
 * vertical at an FPR — a tie group of positives only — the top of the segment is taken, so the function
 * is the upper envelope and its area is the ROC-AUC.
 */
export function tprAtFpr(points: readonly RocPoint[], grid: readonly number[]): number[] {
  const out: number[] = [];
  let j = 0;
  for (const f of grid) {
    // Advance to the last point with fpr <= f (points are sorted by fpr, then tpr).
    while (j + 1 < points.length && points[j + 1].fpr <= f) j++;
    const a = points[j];
    if (a.fpr === f || j + 1 >= points.length) out.push(a.tpr);
    else {
      const b = points[j + 1];
      out.push(a.tpr + ((f - a.fpr) / (b.fpr - a.fpr)) * (b.tpr - a.tpr));
    }
  }
  return out;
}

/**
 * Precision of the average-precision step function at each recall of `grid` (ascending): the precision
 * of the first threshold whose recall is >= r. At r = 0 the limit from the right is used (the first
 * threshold that recalls anything), since no threshold is defined by recalling nothing.
 */
export function precisionAtRecall(points: readonly PrPoint[], grid: readonly number[]): number[] {
  const out: number[] = [];
  let k = 0;
  for (const r of grid) {
    while (k < points.length && (points[k].recall < r || points[k].recall === 0)) k++;
    // Recall reaches 1 at the last threshold, so k only runs off the end through rounding of r > 1.
    out.push(points[Math.min(k, points.length - 1)].precision);
  }
  return out;
}
