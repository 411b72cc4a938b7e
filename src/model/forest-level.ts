/**
 * The TF-IDF + random-forest baseline as a model a bundle can hold (kind 'tfidf-rf'): its vectoriser state and
 * its trees, stored flat in safetensors (thresholds in float64, so predictions are bit-identical to the fit).
 * Like the lexical level (lexical.ts) it scores a trial from its words; `predict` reads its logit as the
 * trial's offset, so the same prediction, explanation and serving paths apply.
 */
import type { Trial } from '../data/trial.ts';
import { predictRandomForest, type FlatTree, type RandomForestModel } from '../baselines/random-forest.ts';
import { TfidfVectorizer, trialTokens, type TfidfState, type TrialTokenOptions } from '../features/tfidf.ts';
import type { Tensor } from '../runtime/safetensors.ts';
import type { LexicalTerm } from './lexical.ts';

/** What `predict` needs from a level that scores a trial from its text: a logit per trial, and its terms. */
export interface TextLevel {
  logits(trials: readonly Trial[]): Float64Array;
  /** The terms that move one trial's logit most (empty when the model has no per-term contributions). */
  terms(trial: Trial, limit?: number): LexicalTerm[];
}

/** Vectoriser state of a tfidf-rf bundle (`tfidf.json`). */
export interface ForestTextState {
  tokens: TrialTokenOptions;
  tfidf: TfidfState;
}

// A forest probability of exactly 0 or 1 has no logit: clipped here, it round-trips to within 1e-12.
const EPS = 1e-12;

export class ForestLevel implements TextLevel {
  private readonly vectorizer: TfidfVectorizer;

  constructor(
    readonly forest: RandomForestModel,
    readonly text: ForestTextState,
  ) {
    if (text.tfidf.vocabulary.length !== forest.nFeatures) throw new Error(`forest: ${forest.nFeatures} features for a vocabulary of ${text.tfidf.vocabulary.length} terms`);
    this.vectorizer = TfidfVectorizer.fromState(text.tfidf);
  }

  probabilities(trials: readonly Trial[]): Float64Array {
    return predictRandomForest(this.forest, this.vectorizer.transform(trials.map((t) => trialTokens(t, this.text.tokens))));
  }

  logits(trials: readonly Trial[]): Float64Array {
    return this.probabilities(trials).map((p) => {
      const q = Math.min(1 - EPS, Math.max(EPS, p));
      return Math.log(q / (1 - q));
    });
  }

  /** A forest has no per-term contributions: leave-one-out explanations stand in for them. */
  terms(): LexicalTerm[] {
    return [];
  }
}

/** The trees as flat tensors: every tree's arrays concatenated, with each tree's node offset. */
export function forestToTensors(forest: RandomForestModel): Record<string, Tensor> {
  const sizes = forest.trees.map((t) => t.feature.length);
  const total = sizes.reduce((a, b) => a + b, 0);
  const offsets = new Int32Array(sizes.length + 1);
  sizes.forEach((n, i) => (offsets[i + 1] = offsets[i] + n));
  const cat = <A extends Int32Array | Float64Array>(make: (n: number) => A, pick: (t: FlatTree) => A): A => {
    const out = make(total);
    forest.trees.forEach((t, i) => out.set(pick(t), offsets[i]));
    return out;
  };
  return {
    offsets: { dtype: 'I32', shape: [offsets.length], data: offsets },
    feature: { dtype: 'I32', shape: [total], data: cat((n) => new Int32Array(n), (t) => t.feature) },
    left: { dtype: 'I32', shape: [total], data: cat((n) => new Int32Array(n), (t) => t.left) },
    right: { dtype: 'I32', shape: [total], data: cat((n) => new Int32Array(n), (t) => t.right) },
    threshold: { dtype: 'F64', shape: [total], data: cat((n) => new Float64Array(n), (t) => t.threshold) },
    value: { dtype: 'F64', shape: [total], data: cat((n) => new Float64Array(n), (t) => t.value) },
  };
}

/** Inverse of forestToTensors; checks dtypes, lengths and that every child index stays inside its tree. */
export function forestFromTensors(tensors: Record<string, Tensor>, meta: Omit<RandomForestModel, 'trees'>): RandomForestModel {
  const get = (name: string, dtype: 'I32' | 'F64') => {
    const t = tensors[name];
    if (!t || t.dtype !== dtype) throw new Error(`forest.safetensors: tensor ${name} is missing or not ${dtype}`);
    return t.data;
  };
  const offsets = get('offsets', 'I32') as Int32Array;
  const [feature, left, right] = ['feature', 'left', 'right'].map((n) => get(n, 'I32') as Int32Array);
  const [threshold, value] = ['threshold', 'value'].map((n) => get(n, 'F64') as Float64Array);
  const total = offsets[offsets.length - 1];
  if ([feature, left, right, threshold, value].some((a) => a.length !== total)) throw new Error('forest.safetensors: node arrays differ in length from the offsets');
  const trees: FlatTree[] = [];
  for (let i = 0; i + 1 < offsets.length; i++) {
    const [a, b] = [offsets[i], offsets[i + 1]];
    if (!(a >= 0 && b > a && b <= total)) throw new Error(`forest.safetensors: tree ${i} has offsets [${a}, ${b}]`);
    const tree: FlatTree = { feature: feature.slice(a, b), left: left.slice(a, b), right: right.slice(a, b), threshold: threshold.slice(a, b), value: value.slice(a, b) };
    const n = b - a;
    for (let k = 0; k < n; k++) {
      const leaf = tree.left[k] === -1;
      if (!leaf && !(tree.left[k] > k && tree.left[k] < n && tree.right[k] > k && tree.right[k] < n && tree.feature[k] >= 0 && tree.feature[k] < meta.nFeatures)) {
        throw new Error(`forest.safetensors: tree ${i} node ${k} points outside the tree`);
      }
    }
    trees.push(tree);
  }
  if (trees.length !== meta.options.nEstimators) throw new Error(`forest.safetensors: ${trees.length} trees, config says ${meta.options.nEstimators}`);
  return { ...meta, trees };
}
