import {
  accuracyScore,
  averagePrecision,
  f1Score,
  precisionScore,
  recallScore,
  rocAuc,
  validateBinaryInputs,
} from './metrics/index.ts';

/** Metrics of the trivial model that predicts every trial a success. */
export interface AllPositiveReference {
  n: number;
  positives: number;
  /** Fraction of positive labels. */
  prevalence: number;
  /** `2P / (2P + N)`: high whenever most trials succeed, which is why F1 alone says little on TOP. */
  f1: number;
  /** Equals the prevalence. */
  precision: number;
  /** 1 (0 when there are no positives). */
  recall: number;
  /** Equals the prevalence. */
  accuracy: number;
  /** Equals the prevalence: the chance level of average precision. Null without positives. */
  prAuc: number | null;
  /** 0.5: a constant score ties every pair. Null when only one class is present. */
  rocAuc: number | null;
}

/**
 * The all-positive baseline that must be printed beside every result: on TOP most trials succeed (55% in
 * phase I test, 75% in phase III test), so an F1 or PR-AUC only means something next to what predicting
 * "success" for every trial already scores. Computed with the same metric functions as the model's numbers
 * (a constant score of 1), so the two are comparable by construction.
 */
export function allPositiveReference(labels: ArrayLike<number>): AllPositiveReference {
  const ones = new Float64Array(labels.length).fill(1);
  const positives = validateBinaryInputs(labels, ones, 'All-positive reference');
  const n = labels.length;
  const negatives = n - positives;
  // Threshold 1: a score of 1 is predicted positive, whatever threshold the model itself is judged at.
  return {
    n,
    positives,
    prevalence: positives / n,
    f1: f1Score(labels, ones, 1),
    precision: precisionScore(labels, ones, 1),
    recall: recallScore(labels, ones, 1),
    accuracy: accuracyScore(labels, ones, 1),
    prAuc: positives > 0 ? averagePrecision(labels, ones) : null,
    rocAuc: positives > 0 && negatives > 0 ? rocAuc(labels, ones) : null,
  };
}
