/**
 * Every number of a run report, computed from the run directory's files (and the test split's ICD codes).
 * Figures, HTML and Markdown are all drawn from this one object, so they cannot disagree; `--json` prints it.
 *
 * The test metrics are recomputed from predictions_test.csv rather than copied from metrics.json, and the
 * two are compared: a report must describe the predictions it plots.
 */
import { DataDirError, resolveDataDir } from '../data/splits.ts';
import { allPositiveReference, bootstrapMetrics, type AllPositiveReference, type BootstrapMetrics, type MetricSummary } from '../eval/bootstrap.ts';
import { METRIC_NAMES } from '../eval/metric-names.ts';
import { calibration, type Calibration } from './calibration.ts';
import { curveBands, type CurveBands } from './curve-bands.ts';
import { prCurve, rocCurve, type PrPoint, type RocPoint } from './curves.ts';
import { diseaseGroups, type DiseaseGroups } from './disease-groups.ts';
import type { ComparisonEntry, MetricCell, RunDir, SplitNote } from './run-dir.ts';
import { chooseThresholdOnValid, thresholdTable, type ChosenThreshold, type ThresholdRow } from './thresholds.ts';
import { parseTrainingLog, type TrainingCurve } from './training-log.ts';

export interface ReportModelOptions {
  /** TOP data directory for the disease groups (default resolveDataDir(), i.e. $CLADMOP_DATA or ../shared/data/top). */
  dataDir?: string;
  /** Seed of the curve bands (default: the run's seed, else 2023). */
  seed?: number;
  /** Resamples of the curve bands and of the AUC intervals beside them (default 200). */
  curveResamples?: number;
}

export interface ComparisonRow extends ComparisonEntry {
  kind: 'run' | 'published' | 'reference';
}

export interface ReportModel {
  runDir: string;
  phase: string | null;
  model: string | null;
  /** Shown at the top of the report: partial splits and anything inconsistent between the inputs. */
  warnings: string[];
  splitNotes: SplitNote[];
  partial: boolean;
  summary: {
    n: number;
    positives: number;
    prevalence: number;
    /** Protocol bootstrap (the run's settings, else 10 × 80%, seed 2023) on the predictions file. */
    bootstrap: { resamples: number; fraction: number; seed: number };
    metrics: BootstrapMetrics;
    allPositive: AllPositiveReference;
  };
  comparison: ComparisonRow[];
  curves: {
    roc: RocPoint[];
    pr: PrPoint[];
    bands: CurveBands;
    /** ROC-AUC / PR-AUC intervals from the band's resamples (full-size, same seed). */
    rocAucCi: [number, number] | null;
    prAucCi: [number, number] | null;
  } | null;
  calibration: Calibration;
  thresholds: { rows: ThresholdRow[]; chosenOnValid: ChosenThreshold | null };
  groups: DiseaseGroups | null;
  training: TrainingCurve[];
}

/** A bootstrap summary as a comparison cell: mean ± std, as the papers print their numbers. */
function summaryCell(s: MetricSummary): MetricCell {
  return s.mean === null ? null : { mean: s.mean, std: s.std };
}

const PROTOCOL = { resamples: 10, fraction: 0.8, seed: 2023 };

function listIds(ids: readonly string[]): string {
  return ids.length > 5 ? `${ids.slice(0, 5).join(', ')} and ${ids.length - 5} more` : ids.join(', ');
}

export function computeReportModel(run: RunDir, options: ReportModelOptions = {}): ReportModel {
  const { labels, probabilities, ids } = run.test;
  const m = run.metrics;
  const warnings: string[] = [];
  if (m.raw.quick === true) warnings.push('SMOKE RUN (reproduce --quick): subsampled data, 1 pre-training epoch, 3 fine-tuning epochs, 1 seed. The numbers are not meaningful.');

  // The test split first: it decides whether the numbers are comparable at all.
  const partialNotes = m.splitNotes.filter((s) => s.partial).sort((a, b) => Number(b.split === 'test') - Number(a.split === 'test'));
  for (const note of partialNotes) {
    warnings.push(
      note.split === 'test'
        ? `PARTIAL TEST SPLIT — metrics are on a subset of the official test set and are not comparable to published numbers. ${note.text}`
        : `Partial ${note.split} split (reconstructed rows; the test split decides comparability). ${note.text}`,
    );
  }
  if (m.partial && !m.splitNotes.some((s) => s.partial)) warnings.push('metrics.json flags this run as partial.');

  const bootstrap = m.bootstrap ?? PROTOCOL;
  const metrics = bootstrapMetrics(labels, probabilities, bootstrap);
  const allPositive = allPositiveReference(labels);
  if (m.point) {
    const differing = METRIC_NAMES.filter((name) => {
      const recorded = m.point?.[name];
      const recomputed = metrics[name].point;
      return recorded !== undefined && (recorded === null || recomputed === null ? recorded !== recomputed : Math.abs(recorded - recomputed) > 1e-9);
    });
    if (differing.length > 0) {
      warnings.push(
        `metrics.json test values differ from those recomputed from predictions_test.csv for ${differing.join(', ')}; this report shows the recomputed ones.`,
      );
    }
  }

  const seed = options.seed ?? m.seed ?? 2023;
  const curveResamples = options.curveResamples ?? 200;
  const positives = allPositive.positives;
  let curves: ReportModel['curves'] = null;
  if (positives > 0 && positives < labels.length) {
    const bands = curveBands(labels, probabilities, { resamples: curveResamples, seed });
    // fraction 1 and the same seed: the very resamples of the bands (see curve-bands.ts).
    const ci = bootstrapMetrics(labels, probabilities, { resamples: curveResamples, fraction: 1, seed });
    curves = { roc: rocCurve(labels, probabilities), pr: prCurve(labels, probabilities), bands, rocAucCi: ci.rocAuc.ci95, prAucCi: ci.prAuc.ci95 };
  } else {
    warnings.push(`The test predictions hold a single class (${positives} of ${labels.length} positive): ROC and PR curves are undefined.`);
  }

  const extra: { threshold: number; source: string }[] = [];
  let chosenOnValid: ChosenThreshold | null = null;
  if (run.valid) {
    chosenOnValid = chooseThresholdOnValid(run.valid.labels, run.valid.probabilities);
    extra.push({ threshold: chosenOnValid.threshold, source: `chosen on valid (max F1 ${chosenOnValid.validF1.toFixed(3)})` });
  }
  if (m.threshold !== null) extra.push({ threshold: m.threshold, source: 'recorded in metrics.json' });

  let groups: DiseaseGroups | null = null;
  if (m.phase === null) {
    warnings.push('metrics.json names no phase (I, II or III): per-disease-group tables are omitted.');
  } else {
    const dataDir = resolveDataDir(options.dataDir);
    try {
      groups = diseaseGroups({ phase: m.phase, dataDir, ids, labels, probabilities });
    } catch (err) {
      // Without the data the rest of the report still stands; say loudly what is missing instead.
      if (!(err instanceof DataDirError)) throw err;
      warnings.push(`Per-disease-group tables omitted: ${err.message}`);
    }
  }
  if (groups) {
    if (groups.notInSplit.length > 0) {
      warnings.push(
        `${groups.notInSplit.length} of ${ids.length} predictions are not in the phase ${m.phase} test split (${listIds(groups.notInSplit)}); they are left out of the group tables only.`,
      );
    }
    if (groups.withoutPrediction.length > 0) {
      warnings.push(
        `The predictions cover ${groups.splitRows - groups.withoutPrediction.length} of ${groups.splitRows} phase ${m.phase} test trials; missing: ${listIds(groups.withoutPrediction)}.`,
      );
    }
    if (groups.labelMismatches.length > 0) {
      warnings.push(
        `${groups.labelMismatches.length} labels in predictions_test.csv differ from the phase ${m.phase} test split (${listIds(groups.labelMismatches)}).`,
      );
    }
  }

  const comparison: ComparisonRow[] = [
    {
      kind: 'run',
      method: `this run${m.model ? ` (${m.model})` : ''}`,
      f1: summaryCell(metrics.f1),
      prAuc: summaryCell(metrics.prAuc),
      rocAuc: summaryCell(metrics.rocAuc),
      source: `bootstrap mean ± std, ${bootstrap.resamples} × ${Math.round(bootstrap.fraction * 100)}%, seed ${bootstrap.seed}`,
    },
    ...m.comparison.map((c): ComparisonRow => ({ ...c, kind: 'published' })),
    {
      kind: 'reference',
      method: 'all-positive reference',
      f1: { mean: allPositive.f1, std: null },
      prAuc: allPositive.prAuc === null ? null : { mean: allPositive.prAuc, std: null },
      rocAuc: allPositive.rocAuc === null ? null : { mean: allPositive.rocAuc, std: null },
      source: 'predicts success for every trial; same test set',
    },
  ];

  return {
    runDir: run.dir,
    phase: m.phase,
    model: m.model,
    warnings,
    splitNotes: m.splitNotes,
    partial: m.partial,
    summary: { n: labels.length, positives, prevalence: allPositive.prevalence, bootstrap, metrics, allPositive },
    comparison,
    curves,
    calibration: calibration(labels, probabilities),
    thresholds: { rows: thresholdTable(labels, probabilities, { extra }), chosenOnValid },
    groups,
    training: parseTrainingLog(run.trainingLog),
  };
}
