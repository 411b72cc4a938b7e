import { allPositiveReference, type AllPositiveReference } from './all-positive-reference.ts';
import { bootstrapMetrics, type BootstrapMetrics } from './bootstrap.ts';
import type { PredictionRecord, PredictionTable } from './read-predictions-csv.ts';
import type { TruthTable } from './read-truth-csv.ts';

// The evaluation entry points live one per file; this module gathers them for callers such as the CLI.
export { readPredictionsCsv, type PredictionTable, type ReadPredictionsOptions } from './read-predictions-csv.ts';
export { readTruthCsv, type TruthTable } from './read-truth-csv.ts';
export { formatReportTable } from './format-report-table.ts';

export interface EvaluateOptions {
  /** Decision threshold of F1, precision, recall, accuracy (default 0.5, "success iff p >= 0.5"). */
  threshold?: number;
  /** Bootstrap seed (default 2023). */
  seed?: number;
  /** Bootstrap resamples (default 10). */
  resamples?: number;
  /** Bootstrap resample size as a fraction of the test set (default 0.8). */
  fraction?: number;
  /** Bins of the expected calibration error (default 10). */
  eceBins?: number;
}

export interface EvaluationReport {
  /** Paths of the two input files. */
  predictions: string;
  truth: string;
  /** Trials evaluated (= rows of the truth file) and how many succeeded. */
  n: number;
  positives: number;
  prevalence: number;
  threshold: number;
  bootstrap: { resamples: number; fraction: number; sampleSize: number; seed: number; eceBins: number };
  /** Point value on the full test set and bootstrap mean, std and 95% interval, per metric. */
  metrics: BootstrapMetrics;
  /** The "every trial succeeds" baseline that must be read beside the metrics. */
  allPositive: AllPositiveReference;
}

/** How many ids an error message lists before summarising the rest. */
const LISTED_IDS = 5;

function listIds(ids: string[]): string {
  const shown = ids.slice(0, LISTED_IDS).join(', ');
  return ids.length > LISTED_IDS ? `${shown} and ${ids.length - LISTED_IDS} more` : shown;
}

/**
 * Matches predictions to the true outcomes by nctid and runs the evaluation protocol: every metric on the
 * full test set, the seeded bootstrap, and the all-positive reference.
 *
 * The truth file defines the test set. Every truth trial needs exactly one prediction, and a prediction
 * for a trial not in the truth file is an error too: it usually means a different split or phase was
 * evaluated, and silently dropping rows would report numbers for a test set nobody chose.
 *
 * @throws Error naming the file, row and line of the first missing or unexpected id, listing up to 5 ids.
 */
export function evaluatePredictions(
  predictions: PredictionTable,
  truth: TruthTable,
  options: EvaluateOptions = {},
): EvaluationReport {
  const byId = new Map<string, PredictionRecord>();
  for (const p of predictions.records) byId.set(p.nctid, p);
  const truthIds = new Set(truth.records.map((t) => t.nctid));

  const problems: string[] = [];
  const missing = truth.records.filter((t) => !byId.has(t.nctid));
  if (missing.length > 0) {
    const first = missing[0];
    problems.push(
      `${predictions.path}: no prediction for nctid ${first.nctid} (${truth.path} row ${first.row}, line ${first.line}, field "nctid"); ` +
        `${missing.length} of ${truth.records.length} truth ids have none: ${listIds(missing.map((t) => t.nctid))}`,
    );
  }
  const extra = predictions.records.filter((p) => !truthIds.has(p.nctid));
  if (extra.length > 0) {
    const first = extra[0];
    problems.push(
      `${predictions.path}: row ${first.row} (line ${first.line}), field "nctid": prediction for ${first.nctid}, which is not in ${truth.path}; ` +
        `${extra.length} predicted ids are not in the truth file: ${listIds(extra.map((p) => p.nctid))}`,
    );
  }
  if (problems.length > 0) {
    if (missing.length === truth.records.length) {
      problems.push('The two files share no nctid: are they from the same split and phase?');
    }
    throw new Error(problems.join('\n'));
  }

  // Truth order, so that a seed draws the same resamples whatever order the predictions were written in.
  const labels = Float64Array.from(truth.records, (t) => t.label);
  const probabilities = Float64Array.from(truth.records, (t) => (byId.get(t.nctid) as PredictionRecord).probability);
  const threshold = options.threshold ?? 0.5;
  const resamples = options.resamples ?? 10;
  const fraction = options.fraction ?? 0.8;
  const seed = options.seed ?? 2023;
  const eceBins = options.eceBins ?? 10;
  const metrics = bootstrapMetrics(labels, probabilities, { threshold, resamples, fraction, seed, eceBins });
  const allPositive = allPositiveReference(labels);
  return {
    predictions: predictions.path,
    truth: truth.path,
    n: allPositive.n,
    positives: allPositive.positives,
    prevalence: allPositive.prevalence,
    threshold,
    bootstrap: { resamples, fraction, sampleSize: Math.round(fraction * labels.length), seed, eceBins },
    metrics,
    allPositive,
  };
}
