/**
 * One baseline run on one benchmark phase: TF-IDF features + logistic regression or random forest, with
 * hyper-parameters chosen by seeded 5-fold stratified CV on train+valid (by average precision), a refit on
 * train+valid, and predictions for the test split.
 *
 * The test split is read only to be transformed and predicted after the model is final; it never enters
 * feature statistics or model selection. Outputs (written atomically):
 *   outDir/predictions_test.csv  nctid,probability,label — probabilities in shortest round-trip form, so
 *                                metrics recomputed from the file equal those in metrics.json exactly;
 *   outDir/metrics.json          choices, CV scores, split facts (incl. partial flags), test metrics, timings.
 */
import { writeFileAtomic } from '../runtime/atomic-write.ts';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BenchmarkPhase, LabelledTrial } from '../data/trial.ts';
import { describeSplit, loadSplit, resolveDataDir, type LoadedSplit, type SplitName } from '../data/splits.ts';
import { TfidfVectorizer, TrialTfidf, type TfidfState, type TrialTfidfOptions, DEFAULT_TFIDF_OPTIONS, DEFAULT_TRIAL_TOKEN_OPTIONS } from '../features/tfidf.ts';
import { csrSelectRows } from '../features/sparse.ts';
import { bootstrapMetrics, allPositiveReference, type BootstrapMetrics, type AllPositiveReference } from '../eval/bootstrap.ts';
import { computeAllMetrics } from '../eval/compute-all-metrics.ts';
import type { MetricValues } from '../eval/metric-names.ts';
import { createRng } from '../eval/rng.ts';
import { deriveSeed, gridSearchCv, type CandidateScore } from './cross-validation.ts';
import { defaultGrid, describeParams, fitBaseline, type BaselineModelName, type BaselineParams, type FittedBaseline } from './models.ts';

export interface BaselineProgress {
  stage: 'load' | 'cv' | 'refit' | 'predict' | 'write';
  /** Units done / total within the stage (fits during CV, trees during a forest refit). */
  done: number;
  total: number;
  message?: string;
}

export interface RunBaselineOptions {
  phase: BenchmarkPhase;
  model: BaselineModelName;
  /** TOP data directory (default: resolveDataDir()). */
  dataDir?: string;
  /** Seeds fold assignment, forest randomness and the test bootstrap. */
  seed?: number;
  outDir: string;
  onProgress?: (p: BaselineProgress) => void;
  /** Feature settings; defaults are DEFAULT_TRIAL_TOKEN_OPTIONS / DEFAULT_TFIDF_OPTIONS. */
  features?: Partial<TrialTfidfOptions>;
  /** Candidate hyper-parameters (default: the model's grid in models.ts). */
  grid?: readonly BaselineParams[];
  /** Number of CV folds. */
  folds?: number;
  /** Bootstrap resamples of the test set (MEXA-CTP protocol: 10 x 80%). */
  bootstrapResamples?: number;
}

export interface SplitFacts {
  rows: number;
  positives: number;
  officialRows: number;
  partial: boolean;
  note: string;
  description: string;
  /** Rows the reader skipped for errors. */
  skippedRows: number;
}

export interface BaselineMetricsFile {
  phase: BenchmarkPhase;
  model: BaselineModelName;
  seed: number;
  dataDir: string;
  splits: Record<SplitName, SplitFacts>;
  /** Rows the model is trained on (train ∪ valid, de-duplicated, minus any id also in test). */
  learnRows: { rows: number; positives: number; duplicatesDropped: number; testIdsDropped: number };
  features: {
    tokens: typeof DEFAULT_TRIAL_TOKEN_OPTIONS;
    tfidf: typeof DEFAULT_TFIDF_OPTIONS;
    /** Vocabulary size of the final (train+valid) fit. */
    vocabularySize: number;
    meanNonZerosPerTestRow: number;
  };
  selection: {
    method: string;
    folds: number;
    foldSizes: Array<{ rows: number; positives: number }>;
    candidates: Array<Omit<CandidateScore<BaselineParams>, 'params'> & { params: BaselineParams; label: string }>;
    chosen: BaselineParams;
    chosenLabel: string;
  };
  finalFit: Record<string, unknown>;
  test: {
    rows: number;
    positives: number;
    partial: boolean;
    /** Metrics on the full test split (threshold 0.5). */
    point: MetricValues;
    bootstrap: { resamples: number; fraction: number; seed: number; metrics: BootstrapMetrics };
    allPositive: AllPositiveReference;
  };
  timingsMs: { load: number; cv: number; refit: number; predict: number; total: number };
}

export interface RunBaselineResult {
  metrics: BaselineMetricsFile;
  predictionsPath: string;
  metricsPath: string;
  /** describeSplit lines of train, valid, test. */
  splitDescriptions: string[];
  /** Probabilities for the test rows, in file order. */
  probabilities: Float64Array;
  /** The final fit on train+valid and its TF-IDF state: what a model bundle of this baseline holds. */
  final: { fitted: FittedBaseline; tfidf: TfidfState; tokens: TrialTfidfOptions['tokens'] };
  testIds: string[];
  testLabels: Uint8Array;
}

/** CSV field quoting (RFC 4180) for ids that might contain separators; TOP ids never do. */
function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** predictions_test.csv content. `String(x)` is the shortest decimal that parses back to the same double. */
export function formatPredictionsCsv(ids: readonly string[], probabilities: ArrayLike<number>, labels: ArrayLike<number>): string {
  const lines = ['nctid,probability,label'];
  for (let i = 0; i < ids.length; i++) lines.push(`${csvField(ids[i])},${String(probabilities[i])},${labels[i]}`);
  return `${lines.join('\n')}\n`;
}

function splitFacts(s: LoadedSplit): SplitFacts {
  return {
    rows: s.rows.length,
    positives: s.positives,
    officialRows: s.officialRows,
    partial: s.partial,
    note: s.note,
    description: describeSplit(s),
    skippedRows: s.errors.length,
  };
}

export async function runBaseline(options: RunBaselineOptions): Promise<RunBaselineResult> {
  const seed = options.seed ?? 2023;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const folds = options.folds ?? 5;
  const kind = options.model;
  const grid = options.grid ?? defaultGrid(kind);
  const progress = options.onProgress ?? (() => {});
  const dataDir = resolveDataDir(options.dataDir);
  const t0 = performance.now();

  progress({ stage: 'load', done: 0, total: 3 });
  const splits = {} as Record<SplitName, LoadedSplit>;
  (['train', 'valid', 'test'] as const).forEach((name, i) => {
    splits[name] = loadSplit(options.phase, name, dataDir);
    progress({ stage: 'load', done: i + 1, total: 3, message: describeSplit(splits[name]) });
  });

  // train ∪ valid by id. The phase files are disjoint by construction; the guards keep a reconstructed split
  // from ever putting a test trial into training.
  const testIds = new Set(splits.test.rows.map((r) => r.trial.nctid));
  const learn: LabelledTrial[] = [];
  const seen = new Set<string>();
  let duplicatesDropped = 0;
  let testIdsDropped = 0;
  for (const row of [...splits.train.rows, ...splits.valid.rows]) {
    if (testIds.has(row.trial.nctid)) testIdsDropped++;
    else if (seen.has(row.trial.nctid)) duplicatesDropped++;
    else {
      seen.add(row.trial.nctid);
      learn.push(row);
    }
  }
  const yLearn = Uint8Array.from(learn, (r) => r.label);
  const tLoad = performance.now();

  const featureOptions: TrialTfidfOptions = {
    tokens: { ...DEFAULT_TRIAL_TOKEN_OPTIONS, ...(options.features?.tokens ?? {}) },
    tfidf: { ...DEFAULT_TFIDF_OPTIONS, ...(options.features?.tfidf ?? {}) },
  };
  // Tokenising is per document and stateless, so it is done once; only the vectoriser is fitted per fold.
  const tokenizer = new TrialTfidf(featureOptions);
  const learnDocs = tokenizer.documents(learn.map((r) => r.trial));

  const search = gridSearchCv<BaselineParams>({
    candidates: grid,
    labels: yLearn,
    folds,
    seed,
    evaluateFold: (trainIdx, testIdx) => {
      const vec = new TfidfVectorizer(featureOptions.tfidf).fit(Array.from(trainIdx, (i) => learnDocs[i]));
      const xAll = vec.transform(learnDocs);
      const xTr = csrSelectRows(xAll, trainIdx);
      const xTe = csrSelectRows(xAll, testIdx);
      const yTr = Uint8Array.from(trainIdx, (i) => yLearn[i]);
      return (params, random) => fitBaseline(kind, params, xTr, yTr, random).predict(xTe);
    },
    onProgress: (done, total) => progress({ stage: 'cv', done, total }),
  });
  const tCv = performance.now();

  const finalVec = new TfidfVectorizer(featureOptions.tfidf).fit(learnDocs);
  const xLearn = finalVec.transform(learnDocs);
  const fitted = fitBaseline(kind, search.best, xLearn, yLearn, createRng(deriveSeed(seed, 0)), (p) =>
    progress({ stage: 'refit', done: p.treesDone, total: p.treesTotal }),
  );
  if (kind === 'lr') progress({ stage: 'refit', done: 1, total: 1 });
  const tRefit = performance.now();

  const testRows = splits.test.rows;
  const xTest = finalVec.transform(tokenizer.documents(testRows.map((r) => r.trial)));
  const probabilities = fitted.predict(xTest);
  const testLabels = Uint8Array.from(testRows, (r) => r.label);
  progress({ stage: 'predict', done: 1, total: 1 });
  const tPredict = performance.now();

  const resamples = options.bootstrapResamples ?? 10;
  const fraction = 0.8;
  const metrics: BaselineMetricsFile = {
    phase: options.phase,
    model: kind,
    seed,
    dataDir,
    splits: { train: splitFacts(splits.train), valid: splitFacts(splits.valid), test: splitFacts(splits.test) },
    learnRows: { rows: learn.length, positives: yLearn.reduce((s, v) => s + v, 0), duplicatesDropped, testIdsDropped },
    features: {
      tokens: featureOptions.tokens as typeof DEFAULT_TRIAL_TOKEN_OPTIONS,
      tfidf: featureOptions.tfidf as typeof DEFAULT_TFIDF_OPTIONS,
      vocabularySize: finalVec.vocabulary.length,
      meanNonZerosPerTestRow: xTest.rows > 0 ? xTest.indptr[xTest.rows] / xTest.rows : 0,
    },
    selection: {
      method: `${folds}-fold stratified CV on train+valid (seeded), best mean average precision; refit on train+valid`,
      folds,
      foldSizes: search.foldSizes,
      candidates: search.candidates.map((c) => ({ ...c, label: describeParams(kind, c.params) })),
      chosen: search.best,
      chosenLabel: describeParams(kind, search.best),
    },
    finalFit: fitted.report,
    test: {
      rows: testRows.length,
      positives: testLabels.reduce((s, v) => s + v, 0),
      partial: splits.test.partial,
      point: computeAllMetrics(testLabels, probabilities),
      bootstrap: { resamples, fraction, seed, metrics: bootstrapMetrics(testLabels, probabilities, { seed, resamples, fraction }) },
      allPositive: allPositiveReference(testLabels),
    },
    timingsMs: {
      load: tLoad - t0,
      cv: tCv - tLoad,
      refit: tRefit - tCv,
      predict: tPredict - tRefit,
      total: performance.now() - t0,
    },
  };

  mkdirSync(options.outDir, { recursive: true });
  const predictionsPath = path.join(options.outDir, 'predictions_test.csv');
  const metricsPath = path.join(options.outDir, 'metrics.json');
  const ids = testRows.map((r) => r.trial.nctid);
  writeFileAtomic(predictionsPath, formatPredictionsCsv(ids, probabilities, testLabels));
  writeFileAtomic(metricsPath, `${JSON.stringify(metrics, null, 2)}\n`);
  progress({ stage: 'write', done: 1, total: 1 });

  return {
    metrics,
    predictionsPath,
    metricsPath,
    splitDescriptions: [splits.train, splits.valid, splits.test].map(describeSplit),
    probabilities,
    testIds: ids,
    testLabels,
    final: { fitted, tfidf: finalVec.toState(), tokens: featureOptions.tokens },
  };
}
