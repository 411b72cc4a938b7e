import {
  accuracyScore,
  averagePrecision,
  brierScore,
  expectedCalibrationError,
  f1Score,
  logLoss,
  precisionScore,
  recallScore,
  rocAuc,
  validateBinaryInputs,
} from './metrics/index.ts';
import type { MetricValues } from './metric-names.ts';

/**
 * Every reported metric on one set of labels and probabilities (the full test set, or one bootstrap
 * resample). Metrics undefined for the data are null instead of throwing: ROC-AUC when only one class is
 * present, PR-AUC when there is no positive. The class counts are checked here, not by catching the
 * metrics' errors, so that a genuinely bad input still throws.
 */
export function computeAllMetrics(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  threshold = 0.5,
  eceBins = 10,
): MetricValues {
  const positives = validateBinaryInputs(labels, probabilities, 'Metrics', true);
  const negatives = labels.length - positives;
  return {
    f1: f1Score(labels, probabilities, threshold),
    prAuc: positives > 0 ? averagePrecision(labels, probabilities) : null,
    rocAuc: positives > 0 && negatives > 0 ? rocAuc(labels, probabilities) : null,
    precision: precisionScore(labels, probabilities, threshold),
    recall: recallScore(labels, probabilities, threshold),
    accuracy: accuracyScore(labels, probabilities, threshold),
    brier: brierScore(labels, probabilities),
    logLoss: logLoss(labels, probabilities),
    ece: expectedCalibrationError(labels, probabilities, eceBins),
  };
}
