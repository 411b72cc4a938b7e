import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../eval/rng.ts';
import { deriveSeed, foldIndices, gridSearchCv, stratifiedKFold } from './cross-validation.ts';

test('stratified folds balance each class and are reproducible from the seed', () => {
  const labels = Array.from({ length: 103 }, (_, i) => (i % 3 === 0 ? 0 : 1)); // 35 negatives, 68 positives
  const a = stratifiedKFold(labels, 5, createRng(11));
  assert.deepEqual([...a], [...stratifiedKFold(labels, 5, createRng(11))]);
  assert.notDeepEqual([...a], [...stratifiedKFold(labels, 5, createRng(12))]);
  for (let f = 0; f < 5; f++) {
    const { train, test: held } = foldIndices(a, f);
    assert.equal(train.length + held.length, 103);
    const neg = [...held].filter((i) => labels[i] === 0).length;
    const pos = held.length - neg;
    assert.ok(neg === 7, `fold ${f}: ${neg} negatives`);
    assert.ok(pos === 13 || pos === 14, `fold ${f}: ${pos} positives`);
  }
  assert.throws(() => stratifiedKFold([0, 1, 1, 1, 1, 1], 5, createRng(1)), /fewer than 5 folds/);
});

test('deriveSeed is deterministic and separates its inputs', () => {
  assert.equal(deriveSeed(2023, 1, 2), deriveSeed(2023, 1, 2));
  assert.notEqual(deriveSeed(2023, 1, 2), deriveSeed(2023, 2, 1));
  assert.notEqual(deriveSeed(2023, 1), deriveSeed(2024, 1));
  assert.ok(Number.isSafeInteger(deriveSeed(2 ** 40, 7)));
});

test('grid search picks the candidate with the best mean average precision; folds never see their own rows', () => {
  const labels = Array.from({ length: 60 }, (_, i) => (i < 25 ? 0 : 1));
  // Candidate "quality" q blends the true label with noise; higher q must win.
  const result = gridSearchCv<{ q: number }>({
    candidates: [{ q: 0.2 }, { q: 0.9 }, { q: 0.5 }],
    labels,
    folds: 5,
    seed: 1,
    evaluateFold: (train, held) => {
      const inTrain = new Set(train);
      for (const i of held) assert.ok(!inTrain.has(i), 'held-out row in training part');
      return (params, random) => Float64Array.from(held, (i) => params.q * labels[i] + (1 - params.q) * random());
    },
  });
  assert.equal(result.bestIndex, 1);
  assert.deepEqual(result.best, { q: 0.9 });
  assert.equal(result.candidates[1].foldPrAuc.length, 5);
  assert.ok(result.candidates[1].meanPrAuc > result.candidates[0].meanPrAuc);
  assert.equal(result.foldSizes.reduce((s, f) => s + f.rows, 0), 60);
});

test('ties go to the earlier candidate', () => {
  const labels = [0, 0, 0, 1, 1, 1, 0, 1, 0, 1];
  const result = gridSearchCv<string>({
    candidates: ['first', 'second'],
    labels,
    folds: 2,
    seed: 3,
    evaluateFold: (_train, held) => () => Float64Array.from(held, (i) => labels[i]),
  });
  assert.equal(result.best, 'first');
});
