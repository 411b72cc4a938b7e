import { METRIC_LABELS, METRIC_NAMES, type MetricName } from './metric-names.ts';
import type { EvaluationReport } from './evaluate.ts';

function formatNumber(value: number | null): string {
  return value === null ? 'undefined' : value.toFixed(4);
}

/**
 * The evaluation report as a plain-text table for a terminal or a log:
 * metric | point | mean ± std | 95% CI | all-positive, then notes.
 *
 * The all-positive column is filled where the baseline is meaningful (the threshold and ranking metrics):
 * on TOP the majority class is "success", so a model's F1 has to be read against it. The closing line says
 * which metrics decide, because F1 at 0.5 is close to the all-positive value for most models.
 */
export function formatReportTable(report: EvaluationReport): string {
  const { bootstrap, metrics, allPositive } = report;
  const baseline: Partial<Record<MetricName, number | null>> = {
    f1: allPositive.f1,
    prAuc: allPositive.prAuc,
    rocAuc: allPositive.rocAuc,
    precision: allPositive.precision,
    recall: allPositive.recall,
    accuracy: allPositive.accuracy,
  };
  const header = ['metric', 'point', 'mean ± std', '95% CI', 'all-positive'];
  const rows = METRIC_NAMES.map((name) => {
    const m = metrics[name];
    const label = name === 'ece' ? `ECE (${bootstrap.eceBins} bins)` : METRIC_LABELS[name];
    return [
      label,
      formatNumber(m.point),
      m.mean === null ? 'undefined' : `${formatNumber(m.mean)} ± ${formatNumber(m.std)}`,
      m.ci95 === null ? 'undefined' : `[${formatNumber(m.ci95[0])}, ${formatNumber(m.ci95[1])}]`,
      name in baseline ? formatNumber(baseline[name] ?? null) : '',
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const formatRow = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd();

  const lines = [
    `Predictions: ${report.predictions}`,
    `Truth:       ${report.truth}`,
    `Trials: ${report.n} (${report.positives} successes, prevalence ${report.prevalence.toFixed(4)}); ` +
      `threshold ${report.threshold} (success predicted iff p >= ${report.threshold})`,
    `Bootstrap: ${bootstrap.resamples} resamples of ${bootstrap.sampleSize} trials ` +
      `(${+(bootstrap.fraction * 100).toFixed(2)}%, with replacement), seed ${bootstrap.seed}; ` +
      'mean ± population std (ddof=0); 95% percentile interval',
    '',
    formatRow(header),
    formatRow(widths.map((w) => '-'.repeat(w))),
    ...rows.map(formatRow),
    '',
  ];
  for (const name of METRIC_NAMES) {
    const m = metrics[name];
    if (m.undefinedResamples > 0) {
      lines.push(
        `${METRIC_LABELS[name]}: undefined in ${m.undefinedResamples} of ${bootstrap.resamples} resamples ` +
          `(only one class drawn); mean, std and CI use the other ${m.definedResamples}.`,
      );
    }
  }
  lines.push(
    `PR-AUC and ROC-AUC decide; F1 at ${report.threshold} mostly measures prevalence ` +
      `(predicting every trial a success already gives F1 ${formatNumber(allPositive.f1)}, ` +
      `PR-AUC ${formatNumber(allPositive.prAuc)}, ROC-AUC ${formatNumber(allPositive.rocAuc)}).`,
  );
  return lines.join('\n');
}
