/**
 * The experiments beyond the supervised table: few-shot fine-tuning and generalisation to new diseases.
 *
 * Few-shot: k labelled training trials per phase (k in {16, 64, 256}), `repeats` random draws each (seeded,
 * at least one trial of each class), LoRA fine-tuning from the pre-trained model with early stopping on the valid
 * split, next to TF-IDF + logistic regression (C = 1, no search) trained on the same k trials. The runs leave out
 * the lexical level (its regression saw every labelled row): they measure the deep model alone.
 *
 * New diseases: test trials none of whose ICD-10 three-character categories occur in that phase's training
 * split; accuracy at 0.5 and PR-AUC of each method on exactly those rows.
 */
import { averagePrecision } from '../eval/metrics/average-precision.ts';
import { rocAuc } from '../eval/metrics/roc-auc.ts';
import { accuracyScore } from '../eval/metrics/accuracy-score.ts';
import { createRng } from '../eval/rng.ts';
import { meanAndStd } from '../eval/stats/mean-and-std.ts';
import type { LabelledTrial } from '../data/trial.ts';
import { fitPredictTfidf } from '../baselines/fit-predict.ts';
import type { FinetuneJobResult, FinetunePool } from './finetune-pool.ts';

export interface FewShotResult {
  k: number;
  repeats: number;
  cladmop: { prAuc: { mean: number; std: number }; rocAuc: { mean: number; std: number } };
  baseline: { prAuc: { mean: number; std: number }; rocAuc: { mean: number; std: number } };
}


/** k indices drawn without replacement, with at least one positive and one negative. */
export function drawFewShot(labels: number[], k: number, seed: number): number[] {
  const rng = createRng(seed);
  for (let attempt = 0; attempt < 100; attempt++) {
    const idx = labels.map((_, i) => i);
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    const pick = idx.slice(0, Math.min(k, idx.length));
    const pos = pick.filter((i) => labels[i] === 1).length;
    if (pos > 0 && pos < pick.length) return pick.sort((a, b) => a - b);
  }
  throw new Error(`cannot draw ${k} trials with both classes`);
}

/** One few-shot draw: k training rows (indices into the phase's train split) and its repeat number. */
export interface FewShotDraw {
  k: number;
  repeat: number;
  rows: number[];
}

/**
 * Starts the few-shot fine-tuning runs on `pool` (largest k first: the longest runs start first) and returns
 * the draws and a way to collect the results once the baselines of the same draws are known. `track` wraps each
 * run's promise (progress counting).
 */
export function fewShotRuns(
  pool: FinetunePool,
  labels: number[],
  ks: number[],
  repeats: number,
  maxEpochs: number,
  track: (p: Promise<FinetuneJobResult>) => Promise<FinetuneJobResult> = (p) => p,
) {
  const draws: FewShotDraw[] = ks.flatMap((k) => Array.from({ length: repeats }, (_, r) => ({ k, repeat: r, rows: drawFewShot(labels, k, 1000 * k + r) })));
  const runs = new Map<FewShotDraw, Promise<FinetuneJobResult>>();
  for (const d of [...draws].sort((a, b) => b.k - a.k)) {
    runs.set(d, track(pool.run({ seed: d.repeat + 1, trainRows: d.rows, maxEpochs, predict: ['test'], offsets: false })));
  }
  return {
    draws,
    /** Mean ± std per k; `baselines[i]` holds the test probabilities of the baseline fitted on `draws[i]`. */
    async results(baselines: ArrayLike<number>[], testLabels: number[], log: (line: string) => void): Promise<FewShotResult[]> {
      const out: FewShotResult[] = [];
      for (const k of ks) {
        const ours = { prAuc: [] as number[], rocAuc: [] as number[] };
        const base = { prAuc: [] as number[], rocAuc: [] as number[] };
        for (const [i, d] of draws.entries()) {
          if (d.k !== k) continue;
          const probs = (await runs.get(d)!).probabilities.test!;
          ours.prAuc.push(averagePrecision(testLabels, probs));
          ours.rocAuc.push(rocAuc(testLabels, probs));
          base.prAuc.push(averagePrecision(testLabels, baselines[i]));
          base.rocAuc.push(rocAuc(testLabels, baselines[i]));
        }
        const result = {
          k,
          repeats,
          cladmop: { prAuc: meanAndStd(ours.prAuc), rocAuc: meanAndStd(ours.rocAuc) },
          baseline: { prAuc: meanAndStd(base.prAuc), rocAuc: meanAndStd(base.rocAuc) },
        };
        log(`few-shot k=${k}: CLaDMoP PR-AUC ${result.cladmop.prAuc.mean.toFixed(3)} ± ${result.cladmop.prAuc.std.toFixed(3)}, TF-IDF LR ${result.baseline.prAuc.mean.toFixed(3)} ± ${result.baseline.prAuc.std.toFixed(3)}`);
        out.push(result);
      }
      return out;
    },
  };
}

/** TF-IDF + logistic regression (C = 1, no search) fitted on each draw's rows: test probabilities per draw. */
export function fewShotBaselines(draws: FewShotDraw[], trainRows: LabelledTrial[], testRows: LabelledTrial[]): Float64Array[] {
  return draws.map((d) => fitPredictTfidf('lr', { C: 1 }, d.rows.map((i) => trainRows[i]), testRows.map((t) => t.trial), d.repeat));
}

/** Three-character ICD-10 categories of a trial ("C34.90" -> "C34"). */
export function icdCategories(trial: LabelledTrial['trial']): Set<string> {
  const out = new Set<string>();
  for (const codes of trial.icdcodes) for (const code of codes) {
    const c = code.trim().toUpperCase().replace('.', '');
    if (/^[A-Z][0-9][0-9A-Z]/.test(c)) out.add(c.slice(0, 3));
  }
  return out;
}

/** Indices of test rows whose ICD-10 categories all are absent from the training rows (and that have some). */
export function newDiseaseRows(train: LabelledTrial[], test: LabelledTrial[]): number[] {
  const seen = new Set<string>();
  for (const r of train) for (const c of icdCategories(r.trial)) seen.add(c);
  return test.flatMap((r, i) => {
    const cats = icdCategories(r.trial);
    return cats.size > 0 && [...cats].every((c) => !seen.has(c)) ? [i] : [];
  });
}

export interface SubsetScores {
  rows: number;
  positives: number;
  methods: { method: string; accuracy: number; prAuc: number | null }[];
}

export function scoreSubset(rows: number[], labels: number[], methods: { method: string; probabilities: ArrayLike<number> }[]): SubsetScores {
  const y = rows.map((i) => labels[i]);
  const positives = y.reduce((a, b) => a + b, 0);
  return {
    rows: rows.length,
    positives,
    methods: methods.map((m) => {
      const p = rows.map((i) => m.probabilities[i]);
      return { method: m.method, accuracy: rows.length ? accuracyScore(y, p) : NaN, prAuc: positives > 0 ? averagePrecision(y, p) : null };
    }),
  };
}
