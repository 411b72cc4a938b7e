/**
 * [ours] The lexical level: a TF-IDF + L2 logistic-regression logit over the trial's words (criteria uni- and
 * bigrams, drug words and names, ICD-10 codes and categories; the features of the TF-IDF baseline), added to
 * CLaDMoP's logit as a fixed offset. The deep model (LoRA on the Drug-Molecule branch + head) is then trained
 * on top of it: it learns what the words miss instead of re-learning what they already give.
 *
 * Why: on phase I the criteria LM's states carry less linear signal than the words (5-fold CV on train+valid,
 * linear models: TF-IDF of the criteria alone PR-AUC .745 / ROC-AUC .714, pooled LM states alone .689 / .648),
 * and the paper's model (no lexical level) ranks below TF-IDF + LR in every phase.
 *
 * Why an offset fitted by stacking rather than trainable wide weights: a logistic regression scores its own
 * training rows far more confidently than unseen ones, so a deep part trained beside in-sample lexical logits
 * sees almost no residual to learn. The offsets of the rows the deep part trains and early-stops on are
 * therefore *cross-fitted* (each row's logit comes from a regression fitted on the other folds of
 * train + valid); trials the model scores later (test, a user's trials) get the regression fitted on all of
 * train + valid, which is exactly the TF-IDF + LR baseline of the same run (same features, rows and C).
 *
 * The paper-faithful model has no lexical level (`--variant paper`).
 */
import type { LabelledTrial, Trial } from '../data/trial.ts';
import { fitLogisticRegression } from '../baselines/logistic-regression.ts';
import { foldIndices, gridSearchCv, stratifiedKFold, deriveSeed } from '../baselines/cross-validation.ts';
import { DEFAULT_LR_GRID } from '../baselines/models.ts';
import { createRng } from '../eval/rng.ts';
import { csrMatVec, csrSelectRows, type CsrMatrix } from '../features/sparse.ts';
import {
  DEFAULT_TFIDF_OPTIONS,
  DEFAULT_TRIAL_TOKEN_OPTIONS,
  TfidfVectorizer,
  trialTokens,
  type TfidfState,
  type TrialTokenOptions,
} from '../features/tfidf.ts';

export const LEXICAL_FORMAT = 'cladmop-lexical';
export const LEXICAL_SCHEMA_VERSION = 1;

/** Everything a lexical logit needs, as stored in a bundle (`lexical.json`). */
export interface LexicalState {
  format: typeof LEXICAL_FORMAT;
  schemaVersion: number;
  tokens: TrialTokenOptions;
  tfidf: TfidfState;
  /** Inverse L2 strength, chosen by 5-fold CV on train+valid (as the TF-IDF + LR baseline). */
  C: number;
  weights: number[];
  intercept: number;
  /** Rows the regression was fitted on. */
  fittedRows: number;
}

/** A term's share of one trial's lexical logit (weight x TF-IDF value). */
export interface LexicalTerm {
  term: string;
  contribution: number;
}

/** The fitted lexical level: TF-IDF vocabulary + regression weights. */
export class LexicalModel {
  private readonly vectorizer: TfidfVectorizer;
  private readonly weights: Float64Array;

  private constructor(readonly state: LexicalState) {
    if (state.format !== LEXICAL_FORMAT) throw new Error(`lexical level: format ${JSON.stringify(state.format)}, expected "${LEXICAL_FORMAT}"`);
    if (state.schemaVersion !== LEXICAL_SCHEMA_VERSION) throw new Error(`lexical level: schema version ${state.schemaVersion} is not supported (this cladmop reads ${LEXICAL_SCHEMA_VERSION})`);
    if (state.weights.length !== state.tfidf.vocabulary.length) {
      throw new Error(`lexical level: ${state.weights.length} weights for a vocabulary of ${state.tfidf.vocabulary.length} terms`);
    }
    this.vectorizer = TfidfVectorizer.fromState(state.tfidf);
    this.weights = Float64Array.from(state.weights);
  }

  static fromState(state: LexicalState): LexicalModel {
    return new LexicalModel(state);
  }

  /** Fits TF-IDF and the regression on `rows` with inverse strength C. */
  static fit(rows: readonly LabelledTrial[], C: number, tokens: TrialTokenOptions = DEFAULT_TRIAL_TOKEN_OPTIONS): LexicalModel {
    const docs = rows.map((r) => trialTokens(r.trial, tokens));
    const vectorizer = new TfidfVectorizer(DEFAULT_TFIDF_OPTIONS).fit(docs);
    const fitted = fitLogisticRegression(vectorizer.transform(docs), rows.map((r) => r.label), { C });
    return new LexicalModel({
      format: LEXICAL_FORMAT,
      schemaVersion: LEXICAL_SCHEMA_VERSION,
      tokens,
      tfidf: vectorizer.toState(),
      C,
      weights: Array.from(fitted.weights),
      intercept: fitted.intercept,
      fittedRows: rows.length,
    });
  }

  get vocabularySize(): number {
    return this.weights.length;
  }

  private matrix(trials: readonly Trial[]): CsrMatrix {
    return this.vectorizer.transform(trials.map((t) => trialTokens(t, this.state.tokens)));
  }

  /** The lexical logit of each trial. */
  logits(trials: readonly Trial[]): Float64Array {
    return csrMatVec(this.matrix(trials), this.weights, new Float64Array(trials.length), this.state.intercept);
  }

  /** The terms of one trial that move its lexical logit most (largest |contribution| first). */
  terms(trial: Trial, limit = 10): LexicalTerm[] {
    const x = this.matrix([trial]);
    const out: LexicalTerm[] = [];
    for (let k = x.indptr[0]; k < x.indptr[1]; k++) {
      const j = x.indices[k];
      out.push({ term: this.state.tfidf.vocabulary[j], contribution: x.data[k] * this.weights[j] });
    }
    return out.sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution) || (a.term < b.term ? -1 : 1)).slice(0, limit);
  }
}

export interface StackedLexical {
  /** Fitted on all of `learn` (scores every trial outside it). */
  model: LexicalModel;
  /** Cross-fitted logit of each `learn` row (from a regression that did not see it), in `learn` order. */
  outOfFold: Float64Array;
  C: number;
  cv: { meanPrAuc: number; meanRocAuc: number; folds: number };
}

/**
 * Chooses C by 5-fold stratified CV on `learn` (mean average precision, the baseline's grid and fold seed), then
 * cross-fits the out-of-fold logits with the same folds and fits the final regression on all of `learn`.
 */
export function fitStackedLexical(learn: readonly LabelledTrial[], o: { seed?: number; folds?: number; grid?: readonly number[] } = {}): StackedLexical {
  const seed = o.seed ?? 2023;
  const folds = o.folds ?? 5;
  const grid = (o.grid ?? DEFAULT_LR_GRID.map((p) => p.C)).map((C) => ({ C }));
  const labels = Uint8Array.from(learn, (r) => r.label);
  const docs = learn.map((r) => trialTokens(r.trial, DEFAULT_TRIAL_TOKEN_OPTIONS));
  const fold = (train: Int32Array) => {
    const vec = new TfidfVectorizer(DEFAULT_TFIDF_OPTIONS).fit(Array.from(train, (i) => docs[i]));
    const x = vec.transform(docs);
    return { x, xTr: csrSelectRows(x, train), yTr: Uint8Array.from(train, (i) => labels[i]) };
  };
  const search = gridSearchCv({
    candidates: grid,
    labels,
    folds,
    seed,
    evaluateFold: (train, test) => {
      const { x, xTr, yTr } = fold(train);
      const xTe = csrSelectRows(x, test);
      return (p) => {
        const m = fitLogisticRegression(xTr, yTr, { C: p.C });
        return csrMatVec(xTe, m.weights, new Float64Array(test.length), m.intercept);
      };
    },
  });
  const C = search.best.C;
  // The same fold assignment as the search (gridSearchCv derives it from the seed the same way).
  const assignment = stratifiedKFold(labels, folds, createRng(deriveSeed(seed, 0x5f01d)));
  const outOfFold = new Float64Array(learn.length);
  for (let f = 0; f < folds; f++) {
    const { train, test } = foldIndices(assignment, f);
    const { x, xTr, yTr } = fold(train);
    const m = fitLogisticRegression(xTr, yTr, { C });
    const z = csrMatVec(csrSelectRows(x, test), m.weights, new Float64Array(test.length), m.intercept);
    test.forEach((i, k) => (outOfFold[i] = z[k]));
  }
  const best = search.candidates[search.bestIndex];
  return { model: LexicalModel.fit(learn, C), outOfFold, C, cv: { meanPrAuc: best.meanPrAuc, meanRocAuc: best.meanRocAuc, folds } };
}
