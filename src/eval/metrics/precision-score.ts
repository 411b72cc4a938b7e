import { confusionAtThreshold } from './confusion.ts';

/**
 * Precision `TP / (TP + FP)` of the prediction "positive iff score >= threshold"; 0 when nothing is
 * predicted positive (sklearn's default `zero_division=0`).
 */
export function precisionScore(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  threshold = 0.5,
): number {
  const { tp, fp } = confusionAtThreshold(labels, scores, threshold);
  return tp + fp === 0 ? 0 : tp / (tp + fp);
}
