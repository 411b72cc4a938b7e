/**
 * Diagnostic linear probe of a frozen criteria encoder: pooled fine-level features -> L2 logistic regression,
 * trained on a phase's train split, C chosen on valid (PR-AUC), scored on test next to TF-IDF + logistic
 * regression fitted the same way in the same run. It says whether the encoder's states carry outcome signal;
 * it is a diagnostic, not the product.
 *
 * Features per trial: mean of the fine level over inclusion tokens, mean over exclusion tokens (zeros when a
 * section is absent), standardised with train statistics.
 */
import type { BenchmarkPhase } from '../data/trial.ts';
import { loadSplit, resolveDataDir } from '../data/splits.ts';
import type { CriteriaEncoder, EncodedCriteria } from '../features/criteria-encoder.ts';
import { encodeWithCache } from '../features/criteria-encoder.ts';
import type { EmbeddingCache } from '../features/embedding-cache.ts';
import { csrFromDense } from '../features/sparse.ts';
import { fitLogisticRegression, predictLogisticRegression } from '../baselines/logistic-regression.ts';
import { averagePrecision } from '../eval/metrics/average-precision.ts';
import { rocAuc } from '../eval/metrics/roc-auc.ts';
import { fitPredictTfidf } from '../baselines/fit-predict.ts';
import { gridSearchCv } from '../baselines/cross-validation.ts';

export interface ProbeResult {
  phase: BenchmarkPhase;
  encoder: string;
  chosenC: { probe: number; tfidf: number };
  /** Valid PR-AUC at the chosen C. */
  valid: { probe: number; tfidf: number };
  /**
   * 5-fold stratified cross-validation of the probe over train + valid (features standardised per fold), best C
   * by mean PR-AUC: ten times the rows of the valid split alone, for comparing encoders without reading test.
   */
  cv: { C: number; prAuc: { mean: number; std: number }; rocAuc: number; rows: number };
  /** null with `test: false` (design studies must not see test). */
  test: { probe: { prAuc: number; rocAuc: number }; tfidf: { prAuc: number; rocAuc: number } } | null;
  rows: { train: number; valid: number; test: number };
}

export interface ProbeOptions {
  dataDir?: string;
  onProgress?: (done: number, total: number) => void;
  /** Encode and score the test split (default true). False for model selection: test text is never read. */
  test?: boolean;
}

export function pooledFeatures(e: EncodedCriteria): Float64Array {
  const d = e.dim;
  const fine = e.levels[e.levels.length - 1];
  const out = new Float64Array(2 * d);
  const counts = [0, 0];
  for (let t = 0; t < e.tokens.length; t++) {
    const s = e.segments[t];
    counts[s]++;
    for (let j = 0; j < d; j++) out[s * d + j] += fine[t * d + j];
  }
  for (let s = 0; s < 2; s++) if (counts[s] > 0) for (let j = 0; j < d; j++) out[s * d + j] /= counts[s];
  return out;
}

const C_GRID = [0.01, 0.1, 1, 10];

/** Standardises `rows` of `feats` with the statistics of `fitRows` (a fold's training rows). */
function standardised(feats: Float64Array[], fitRows: ArrayLike<number>, rows: ArrayLike<number>): number[][] {
  const dim = feats[0].length;
  const n = fitRows.length;
  const mean = new Float64Array(dim);
  const sd = new Float64Array(dim);
  for (let r = 0; r < n; r++) for (let j = 0; j < dim; j++) mean[j] += feats[fitRows[r]][j] / n;
  for (let r = 0; r < n; r++) for (let j = 0; j < dim; j++) sd[j] += (feats[fitRows[r]][j] - mean[j]) ** 2 / n;
  return Array.from(rows, (i) => Array.from(feats[i], (v, j) => (v - mean[j]) / Math.sqrt(sd[j] + 1e-12)));
}

function crossValidatedProbe(feats: Float64Array[], labels: number[]): ProbeResult['cv'] {
  const dim = feats[0].length;
  const search = gridSearchCv<number>({
    candidates: C_GRID,
    labels,
    folds: 5,
    seed: 2023,
    evaluateFold: (trainIdx, testIdx) => {
      const xTr = csrFromDense(standardised(feats, trainIdx, trainIdx), dim);
      const xTe = csrFromDense(standardised(feats, trainIdx, testIdx), dim);
      const yTr = Array.from(trainIdx, (i) => labels[i]);
      return (C) => predictLogisticRegression(fitLogisticRegression(xTr, yTr, { C }), xTe);
    },
  });
  const best = search.candidates[search.bestIndex];
  return { C: search.best, prAuc: { mean: best.meanPrAuc, std: best.stdPrAuc }, rocAuc: best.meanRocAuc, rows: labels.length };
}

export async function linearProbe(
  encoder: CriteriaEncoder,
  cache: EmbeddingCache | null,
  phase: BenchmarkPhase,
  options: ProbeOptions = {},
): Promise<ProbeResult> {
  const dataDir = options.dataDir ?? resolveDataDir();
  const withTest = options.test ?? true;
  const splits = { train: loadSplit(phase, 'train', dataDir), valid: loadSplit(phase, 'valid', dataDir), test: withTest ? loadSplit(phase, 'test', dataDir) : null };
  const testRows = splits.test?.rows ?? [];
  const all = [...splits.train.rows, ...splits.valid.rows, ...testRows];
  const onProgress = options.onProgress;
  const { encoded } = await encodeWithCache(encoder, cache, all.map((r) => r.trial.criteria), onProgress);
  const feats = encoded.map(pooledFeatures);
  const nTr = splits.train.rows.length;
  const nVa = splits.valid.rows.length;
  // Standardise with training statistics only.
  const dim = feats[0].length;
  const trainIdx = Array.from({ length: nTr }, (_, i) => i);
  const z = standardised(feats, trainIdx, feats.map((_, i) => i));
  const X = (a: number, b: number) => csrFromDense(z.slice(a, b), dim);
  const cv = crossValidatedProbe(feats.slice(0, nTr + nVa), [...splits.train.rows, ...splits.valid.rows].map((r) => r.label));
  const y = (rows: { label: 0 | 1 }[]) => rows.map((r) => r.label);
  const yTr = y(splits.train.rows);
  const yVa = y(splits.valid.rows);
  const yTe = y(testRows);
  let best = { C: C_GRID[0], ap: -1 };
  for (const C of C_GRID) {
    const m = fitLogisticRegression(X(0, nTr), yTr, { C });
    const ap = averagePrecision(yVa, predictLogisticRegression(m, X(nTr, nTr + nVa)));
    if (ap > best.ap) best = { C, ap };
  }
  let bestT = { C: C_GRID[0], ap: -1 };
  for (const C of C_GRID) {
    const p = fitPredictTfidf('lr', { C }, splits.train.rows, splits.valid.rows.map((r) => r.trial), 0);
    const ap = averagePrecision(yVa, p);
    if (ap > bestT.ap) bestT = { C, ap };
  }
  let test: ProbeResult['test'] = null;
  if (withTest) {
    const probe = predictLogisticRegression(fitLogisticRegression(X(0, nTr), yTr, { C: best.C }), X(nTr + nVa, all.length));
    const tfidf = fitPredictTfidf('lr', { C: bestT.C }, splits.train.rows, testRows.map((r) => r.trial), 0);
    test = { probe: { prAuc: averagePrecision(yTe, probe), rocAuc: rocAuc(yTe, probe) }, tfidf: { prAuc: averagePrecision(yTe, tfidf), rocAuc: rocAuc(yTe, tfidf) } };
  }
  return {
    phase,
    encoder: encoder.name,
    chosenC: { probe: best.C, tfidf: bestT.C },
    valid: { probe: best.ap, tfidf: bestT.ap },
    cv,
    test,
    rows: { train: nTr, valid: nVa, test: testRows.length },
  };
}
