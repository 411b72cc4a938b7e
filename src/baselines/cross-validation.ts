/**
 * Seeded stratified k-fold splitting and grid search by cross-validated average precision.
 *
 * Model selection for the baselines happens here and only here, on train+valid rows; the test split is never
 * passed in. Per-fold feature fitting is the caller's job (`FoldEvaluator`), so TF-IDF statistics of a fold's
 * held-out part never reach that fold's model, as in an sklearn `Pipeline` inside `GridSearchCV`.
 */
import { averagePrecision } from '../eval/metrics/average-precision.ts';
import { rocAuc } from '../eval/metrics/roc-auc.ts';
import { createRng } from '../eval/rng.ts';

/**
 * Fold index (0..k-1) of every row. Each class is shuffled separately and dealt round-robin, continuing the
 * deal across classes, so every fold gets floor/ceil of each class count and fold sizes differ by at most one.
 */
export function stratifiedKFold(labels: ArrayLike<number>, k: number, random: () => number): Int32Array {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`k must be an integer >= 2, got ${k}`);
  const byClass: number[][] = [[], []];
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (c !== 0 && c !== 1) throw new RangeError(`label ${c} at row ${i} is not 0/1`);
    byClass[c].push(i);
  }
  for (const cls of [0, 1]) {
    if (byClass[cls].length > 0 && byClass[cls].length < k) {
      throw new RangeError(`class ${cls} has ${byClass[cls].length} rows, fewer than ${k} folds`);
    }
  }
  const fold = new Int32Array(labels.length);
  let deal = 0;
  for (const rows of byClass) {
    shuffleInPlace(rows, random);
    for (const i of rows) fold[i] = deal++ % k;
  }
  return fold;
}

/** Fisher-Yates shuffle driven by `random` (doubles in [0, 1)). */
export function shuffleInPlace<T>(a: T[], random: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

/**
 * A seed for fit number `parts` derived from a base seed, so each (fold, candidate) fit has its own stream and
 * its result does not depend on the order fits run in. FNV-1a style mixing into 31 bits (a safe integer).
 */
export function deriveSeed(base: number, ...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of [base, ...parts]) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193);
    h ^= h >>> 15;
  }
  return (h >>> 0) & 0x7fffffff;
}

/** Indices of the training and held-out rows of fold `f`. */
export function foldIndices(folds: Int32Array, f: number): { train: Int32Array; test: Int32Array } {
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < folds.length; i++) (folds[i] === f ? test : train).push(i);
  return { train: Int32Array.from(train), test: Int32Array.from(test) };
}

/**
 * Prepares one fold (e.g. fits TF-IDF on its training rows) and returns a scorer that fits candidate `c` on the
 * fold's training rows with the given random source and returns probabilities for the held-out rows.
 */
export type FoldEvaluator<P> = (
  trainIdx: Int32Array,
  testIdx: Int32Array,
) => (params: P, random: () => number) => Float64Array;

export interface CandidateScore<P> {
  params: P;
  /** Average precision on each fold's held-out rows. */
  foldPrAuc: number[];
  foldRocAuc: number[];
  meanPrAuc: number;
  stdPrAuc: number;
  meanRocAuc: number;
}

export interface GridSearchResult<P> {
  best: P;
  bestIndex: number;
  candidates: CandidateScore<P>[];
  folds: number;
  /** Held-out size and positives of each fold. */
  foldSizes: Array<{ rows: number; positives: number }>;
}

export interface GridSearchOptions<P> {
  candidates: readonly P[];
  labels: ArrayLike<number>;
  folds: number;
  seed: number;
  evaluateFold: FoldEvaluator<P>;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Stratified k-fold CV over `candidates`; the best mean average precision wins, ties going to the earlier
 * candidate (sklearn's GridSearchCV ranks ties equally and picks the first).
 */
export function gridSearchCv<P>(o: GridSearchOptions<P>): GridSearchResult<P> {
  if (o.candidates.length === 0) throw new RangeError('grid search needs at least one candidate');
  const folds = stratifiedKFold(o.labels, o.folds, createRng(deriveSeed(o.seed, 0x5f01d)));
  const perCandidate = o.candidates.map(() => ({ pr: [] as number[], roc: [] as number[] }));
  const foldSizes: GridSearchResult<P>['foldSizes'] = [];
  const total = o.folds * o.candidates.length;
  let done = 0;
  for (let f = 0; f < o.folds; f++) {
    const { train, test } = foldIndices(folds, f);
    const heldLabels = Float64Array.from(test, (i) => o.labels[i]);
    foldSizes.push({ rows: test.length, positives: heldLabels.reduce((s, v) => s + v, 0) });
    const score = o.evaluateFold(train, test);
    o.candidates.forEach((params, c) => {
      const probs = score(params, createRng(deriveSeed(o.seed, f + 1, c + 1)));
      if (probs.length !== test.length) throw new RangeError(`fold ${f}: ${probs.length} predictions for ${test.length} rows`);
      perCandidate[c].pr.push(averagePrecision(heldLabels, probs));
      perCandidate[c].roc.push(rocAuc(heldLabels, probs));
      o.onProgress?.(++done, total);
    });
  }
  const candidates: CandidateScore<P>[] = o.candidates.map((params, c) => {
    const pr = perCandidate[c].pr;
    const meanPr = pr.reduce((s, v) => s + v, 0) / pr.length;
    const variance = pr.reduce((s, v) => s + (v - meanPr) ** 2, 0) / pr.length;
    return {
      params,
      foldPrAuc: pr,
      foldRocAuc: perCandidate[c].roc,
      meanPrAuc: meanPr,
      stdPrAuc: Math.sqrt(variance),
      meanRocAuc: perCandidate[c].roc.reduce((s, v) => s + v, 0) / perCandidate[c].roc.length,
    };
  });
  let bestIndex = 0;
  for (let c = 1; c < candidates.length; c++) if (candidates[c].meanPrAuc > candidates[bestIndex].meanPrAuc) bestIndex = c;
  return { best: candidates[bestIndex].params, bestIndex, candidates, folds: o.folds, foldSizes };
}
