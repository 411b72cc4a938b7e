/**
 * Fit a TF-IDF baseline on given rows and predict others, with fixed hyper-parameters (no search): for
 * experiments where the training set is tiny (few-shot) and cross-validation would be meaningless.
 */
import type { Trial } from '../data/trial.ts';
import { createRng } from '../eval/rng.ts';
import { TrialTfidf } from '../features/tfidf.ts';
import { fitBaseline, type BaselineModelName, type BaselineParams } from './models.ts';

export function fitPredictTfidf(
  kind: BaselineModelName,
  params: BaselineParams,
  train: { trial: Trial; label: 0 | 1 }[],
  test: Trial[],
  seed: number,
): Float64Array {
  // min_df 1: with a handful of training trials, the default min_df 2 would leave almost no vocabulary.
  const tfidf = new TrialTfidf({ tfidf: { minDf: 1 } });
  const x = tfidf.fitTransform(train.map((r) => r.trial));
  const fitted = fitBaseline(kind, params, x, Uint8Array.from(train, (r) => r.label), createRng(seed));
  return Float64Array.from(fitted.predict(tfidf.transform(test)));
}
