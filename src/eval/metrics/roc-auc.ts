import { validateBinaryInputs } from './validate-binary-inputs.ts';

/**
 * Area under the ROC curve, as scikit-learn's `roc_auc_score` for binary labels.
 *
 * Computed as the Mann–Whitney statistic `(#{s_pos > s_neg} + ½·#{s_pos = s_neg}) / (P·N)` through
 * average ranks: this equals sklearn's trapezoid over tie-grouped thresholds, and the rank sum of the
 * positives is an exact sum of half-integers, so the only rounding is the final division.
 *
 * @throws Error when only one class is present: the statistic is undefined there (sklearn raises too),
 *   and returning 0.5 would hide a broken evaluation set.
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const positives = validateBinaryInputs(labels, scores, 'ROC-AUC');
  const n = labels.length;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) {
    throw new Error(
      `ROC-AUC is undefined: only one class (${positives} positives, ${negatives} negatives)`,
    );
  }
  const s = Float64Array.from(scores);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => s[a] - s[b]);

  // Ranks are 1-based; a run of tied scores occupying ranks i+1..j all get the average (i+1+j)/2.
  let positiveRankSum = 0;
  let i = 0;
  while (i < n) {
    const value = s[order[i]];
    let j = i;
    let positivesInRun = 0;
    while (j < n && s[order[j]] === value) {
      if (labels[order[j]] === 1) positivesInRun++;
      j++;
    }
    positiveRankSum += (positivesInRun * (i + 1 + j)) / 2;
    i = j;
  }
  const u = positiveRankSum - (positives * (positives + 1)) / 2;
  return u / (positives * negatives);
}
