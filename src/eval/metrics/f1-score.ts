import { confusionAtThreshold } from './confusion.ts';

/**
 * F1 of the prediction "positive iff score >= threshold": `2·TP / (2·TP + FP + FN)`.
 *
 * When there are no true and no predicted positives the ratio is 0/0; like sklearn's default
 * `zero_division=0` we return 0. (sklearn 1.2 computes `2·P·R / (P + R)` instead, which can differ from
 * this exact ratio in the last bit, e.g. 0.7499999999999999 for 12/16.)
 */
export function f1Score(labels: ArrayLike<number>, scores: ArrayLike<number>, threshold = 0.5): number {
  const { tp, fp, fn } = confusionAtThreshold(labels, scores, threshold);
  const denominator = 2 * tp + fp + fn;
  return denominator === 0 ? 0 : (2 * tp) / denominator;
}
