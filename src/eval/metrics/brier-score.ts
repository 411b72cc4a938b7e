import { validateBinaryInputs } from './validate-binary-inputs.ts';

/**
 * Brier score `mean_i (s_i − y_i)²`, as sklearn's `brier_score_loss` with positive label 1. Scores must
 * be probabilities in [0, 1] (sklearn rejects others too); no clipping.
 */
export function brierScore(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  validateBinaryInputs(labels, scores, 'Brier score', true);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const d = scores[i] - labels[i];
    sum += d * d;
  }
  return sum / labels.length;
}
