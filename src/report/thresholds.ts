/**
 * The threshold table: how the thresholded metrics move with the decision threshold, so a reader sees
 * whether an F1 at 0.5 is a property of the model or of where the cut happens to sit.
 */
import { confusionAtThreshold, validateBinaryInputs } from '../eval/metrics/index.ts';

export interface ThresholdRow {
  threshold: number;
  /** Where the row's threshold comes from, e.g. "grid" or "chosen on valid (max F1)". */
  source: string;
  /** Null when nothing is predicted positive (0/0), instead of sklearn's silent 0. */
  precision: number | null;
  recall: number;
  f1: number;
  accuracy: number;
  /** Fraction of trials predicted to succeed. */
  predictedPositiveRate: number;
}

/** 0.1, 0.2, ..., 0.9 written as k/10 so each equals its decimal literal. */
export const GRID_THRESHOLDS: readonly number[] = Array.from({ length: 9 }, (_, k) => (k + 1) / 10);

export function thresholdRow(labels: ArrayLike<number>, probabilities: ArrayLike<number>, threshold: number, source: string): ThresholdRow {
  const { tp, fp, tn, fn } = confusionAtThreshold(labels, probabilities, threshold);
  const n = tp + fp + tn + fn;
  const f1Denominator = 2 * tp + fp + fn;
  return {
    threshold,
    source,
    precision: tp + fp > 0 ? tp / (tp + fp) : null,
    recall: tp + fn > 0 ? tp / (tp + fn) : 0,
    f1: f1Denominator > 0 ? (2 * tp) / f1Denominator : 0,
    accuracy: (tp + tn) / n,
    predictedPositiveRate: (tp + fp) / n,
  };
}

export interface ChosenThreshold {
  threshold: number;
  /** F1 on the validation predictions at that threshold. */
  validF1: number;
}

/**
 * The threshold that maximises F1 on the validation predictions. Candidates are the distinct validation
 * scores (F1 only changes there under "positive iff p >= t"); ties go to the highest threshold, the one
 * predicting fewest successes, so a flat F1 plateau does not drift to "everything succeeds".
 */
export function chooseThresholdOnValid(labels: ArrayLike<number>, probabilities: ArrayLike<number>): ChosenThreshold {
  const positives = validateBinaryInputs(labels, probabilities, 'Threshold choice', true);
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => probabilities[b] - probabilities[a]);
  let best: ChosenThreshold | null = null;
  let tp = 0;
  let fp = 0;
  let i = 0;
  // Walking scores from high to low, each distinct score t gives the confusion of "p >= t" in O(1).
  while (i < n) {
    const t = probabilities[order[i]];
    while (i < n && probabilities[order[i]] === t) {
      if (labels[order[i]] === 1) tp++;
      else fp++;
      i++;
    }
    const fn = positives - tp;
    const f1 = 2 * tp + fp + fn > 0 ? (2 * tp) / (2 * tp + fp + fn) : 0;
    if (best === null || f1 > best.validF1) best = { threshold: t, validF1: f1 };
  }
  return best as ChosenThreshold;
}

export interface ThresholdTableOptions {
  /** Extra thresholds to append after the grid, each with where it comes from. */
  extra?: { threshold: number; source: string }[];
}

export function thresholdTable(labels: ArrayLike<number>, probabilities: ArrayLike<number>, options: ThresholdTableOptions = {}): ThresholdRow[] {
  const rows = GRID_THRESHOLDS.map((t) => thresholdRow(labels, probabilities, t, t === 0.5 ? 'grid (protocol threshold)' : 'grid'));
  for (const e of options.extra ?? []) rows.push(thresholdRow(labels, probabilities, e.threshold, e.source));
  return rows;
}
