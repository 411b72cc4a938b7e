/**
 * Reliability diagram data: equal-width probability bins with the mean predicted probability against the
 * observed success rate, plus the Brier score and ECE of the same predictions.
 *
 * The bins are exactly those of `expectedCalibrationError` (score s in bin min(floor(s·bins), bins − 1)), so
 * the ECE printed under the diagram is the count-weighted gap of the bars drawn in it.
 */
import { brierScore, expectedCalibrationError, validateBinaryInputs } from '../eval/metrics/index.ts';

export interface CalibrationBin {
  /** Bin edges [lower, upper); the last bin also holds 1. */
  lower: number;
  upper: number;
  count: number;
  positives: number;
  /** Null for an empty bin. */
  meanPredicted: number | null;
  observedRate: number | null;
  /** 95% Wilson score interval of the observed rate (null for an empty bin): how far a bin's gap is noise. */
  observedLow: number | null;
  observedHigh: number | null;
}

export interface Calibration {
  bins: CalibrationBin[];
  brier: number;
  ece: number;
}

/** 95% Wilson interval of k successes in n; unlike k/n ± 1.96·se it stays in [0, 1] for small bins. */
export function wilsonInterval(k: number, n: number, z = 1.959963984540054): [number, number] {
  if (n <= 0) throw new Error(`wilsonInterval: n is ${n}, expected a positive count`);
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export function calibration(labels: ArrayLike<number>, probabilities: ArrayLike<number>, bins = 10): Calibration {
  validateBinaryInputs(labels, probabilities, 'Calibration', true);
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`Calibration: bins is ${bins}, expected a positive integer`);
  const count = new Float64Array(bins);
  const labelSum = new Float64Array(bins);
  const scoreSum = new Float64Array(bins);
  for (let i = 0; i < labels.length; i++) {
    // Same expression as expectedCalibrationError, so both put a boundary score in the same bin.
    const b = Math.min(Math.floor(probabilities[i] * bins), bins - 1);
    count[b]++;
    labelSum[b] += labels[i];
    scoreSum[b] += probabilities[i];
  }
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    const n = count[b];
    const interval = n > 0 ? wilsonInterval(labelSum[b], n) : null;
    out.push({
      lower: b / bins,
      upper: (b + 1) / bins,
      count: n,
      positives: labelSum[b],
      meanPredicted: n > 0 ? scoreSum[b] / n : null,
      observedRate: n > 0 ? labelSum[b] / n : null,
      observedLow: interval ? interval[0] : null,
      observedHigh: interval ? interval[1] : null,
    });
  }
  return {
    bins: out,
    brier: brierScore(labels, probabilities),
    ece: expectedCalibrationError(labels, probabilities, bins),
  };
}
