import { validateBinaryInputs } from './validate-binary-inputs.ts';

/**
 * Expected calibration error of the success probability, with equal-width bins:
 *
 *   ECE = Σ_b (n_b / n) · | mean_{i∈b} y_i − mean_{i∈b} s_i |
 *
 * Score s goes to bin `min(floor(s·bins), bins − 1)`, so bin k covers [k/bins, (k+1)/bins) and a score of
 * exactly 1 falls in the last bin; empty bins contribute nothing. The product s·bins is rounded in
 * floating point, so a score written as 0.3 lands in bin 3 as its decimal suggests, although the double
 * nearest 0.3 is slightly below it.
 *
 * This is the reliability-diagram ECE of P(success) — the observed success rate of a bin against its mean
 * predicted probability — which is what a trial-outcome probability is read as. It is not the "top-label"
 * ECE of Guo et al. (2017), which bins max(s, 1 − s) against the accuracy of the thresholded prediction
 * and gives different values for binary problems.
 */
export function expectedCalibrationError(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  bins = 10,
): number {
  validateBinaryInputs(labels, scores, 'Expected calibration error', true);
  if (!Number.isInteger(bins) || bins < 1) {
    throw new Error(`Expected calibration error: bins is ${bins}, expected a positive integer`);
  }
  const count = new Float64Array(bins);
  const labelSum = new Float64Array(bins);
  const scoreSum = new Float64Array(bins);
  for (let i = 0; i < labels.length; i++) {
    const b = Math.min(Math.floor(scores[i] * bins), bins - 1);
    count[b]++;
    labelSum[b] += labels[i];
    scoreSum[b] += scores[i];
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    // (n_b/n)·|Σy/n_b − Σs/n_b| simplifies to |Σy − Σs|/n, avoiding two divisions per bin.
    if (count[b] > 0) ece += Math.abs(labelSum[b] - scoreSum[b]);
  }
  return ece / labels.length;
}
