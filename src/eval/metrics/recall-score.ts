import { confusionAtThreshold } from './confusion.ts';

/**
 * Recall `TP / (TP + FN)` of the prediction "positive iff score >= threshold"; 0 when there are no
 * positive labels (sklearn's default `zero_division=0`).
 */
export function recallScore(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  threshold = 0.5,
): number {
  const { tp, fn } = confusionAtThreshold(labels, scores, threshold);
  return tp + fn === 0 ? 0 : tp / (tp + fn);
}
