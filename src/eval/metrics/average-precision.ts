import { validateBinaryInputs } from './validate-binary-inputs.ts';

/**
 * Average precision (the "PR-AUC" of the TOP benchmark papers), as scikit-learn's
 * `average_precision_score`: `AP = Σ_k (R_k − R_{k−1}) · P_k` over the distinct score values taken as
 * thresholds from high to low, with `R_0 = 0`.
 *
 * Tied scores enter together as one threshold (sorting alone would order them arbitrarily and change the
 * value). This is deliberately not the trapezoid area under the PR curve, which interpolates linearly and
 * reads higher than the numbers the papers report.
 *
 * @throws Error when there are no positive labels: recall is 0/0 at every threshold (sklearn warns and
 *   returns -0.0, which would look like a real, terrible score).
 */
export function averagePrecision(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const positives = validateBinaryInputs(labels, scores, 'Average precision');
  const n = labels.length;
  if (positives === 0) {
    throw new Error(`Average precision is undefined: no positive labels (0 positives, ${n} negatives)`);
  }
  const s = Float64Array.from(scores);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => s[b] - s[a]);

  let tp = 0;
  let fp = 0;
  let previousRecall = 0;
  let ap = 0;
  let i = 0;
  while (i < n) {
    const value = s[order[i]];
    while (i < n && s[order[i]] === value) {
      if (labels[order[i]] === 1) tp++;
      else fp++;
      i++;
    }
    const recall = tp / positives;
    // A group of negatives only adds no recall, so its precision never counts.
    if (recall !== previousRecall) {
      ap += (recall - previousRecall) * (tp / (tp + fp));
      previousRecall = recall;
    }
  }
  return ap;
}
