import { confusionAtThreshold } from './confusion.ts';

/** Fraction of rows whose prediction "positive iff score >= threshold" equals the label. */
export function accuracyScore(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  threshold = 0.5,
): number {
  const { tp, tn } = confusionAtThreshold(labels, scores, threshold);
  return (tp + tn) / labels.length;
}
