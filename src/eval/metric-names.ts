/**
 * The metrics the evaluation reports, in the order tables list them: the three the TOP papers compare
 * (F1 at the threshold, PR-AUC = average precision, ROC-AUC), then the rest of the confusion-based
 * metrics, then the probability-quality metrics.
 */
export const METRIC_NAMES = [
  'f1',
  'prAuc',
  'rocAuc',
  'precision',
  'recall',
  'accuracy',
  'brier',
  'logLoss',
  'ece',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];

/** One value per metric; null where the metric is undefined for the data (e.g. ROC-AUC with one class). */
export type MetricValues = Record<MetricName, number | null>;

/** Display names, as the papers and the reference fixture spell them. */
export const METRIC_LABELS: Record<MetricName, string> = {
  f1: 'F1',
  prAuc: 'PR-AUC',
  rocAuc: 'ROC-AUC',
  precision: 'precision',
  recall: 'recall',
  accuracy: 'accuracy',
  brier: 'Brier',
  logLoss: 'log-loss',
  ece: 'ECE',
};
