/** The binary-classification metrics of the evaluation protocol, one function per file. */
export { validateBinaryInputs } from './validate-binary-inputs.ts';
export { rocAuc } from './roc-auc.ts';
export { averagePrecision } from './average-precision.ts';
export { confusionAtThreshold, type Confusion } from './confusion.ts';
export { f1Score } from './f1-score.ts';
export { precisionScore } from './precision-score.ts';
export { recallScore } from './recall-score.ts';
export { accuracyScore } from './accuracy-score.ts';
export { brierScore } from './brier-score.ts';
export { logLoss } from './log-loss.ts';
export { expectedCalibrationError } from './expected-calibration-error.ts';
