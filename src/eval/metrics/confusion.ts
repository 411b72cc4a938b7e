import { validateBinaryInputs } from './validate-binary-inputs.ts';

/** Confusion counts of a thresholded binary prediction. */
export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/**
 * Confusion counts with the rule "predicted positive iff score >= threshold". The `>=` matters: the TOP
 * reference values (and sklearn code thresholding `prob >= 0.5`) count a score of exactly 0.5 as a
 * predicted success.
 */
export function confusionAtThreshold(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  threshold = 0.5,
): Confusion {
  validateBinaryInputs(labels, scores, 'Confusion matrix');
  if (typeof threshold !== 'number' || Number.isNaN(threshold)) {
    throw new Error(`Confusion matrix: threshold is ${String(threshold)}, expected a number`);
  }
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const predictedPositive = scores[i] >= threshold;
    if (labels[i] === 1) {
      if (predictedPositive) tp++;
      else fn++;
    } else if (predictedPositive) fp++;
    else tn++;
  }
  return { tp, fp, tn, fn };
}
