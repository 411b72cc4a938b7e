import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csrFromDense, csrFromRowMaps } from '../features/sparse.ts';
import { createRng } from '../eval/rng.ts';
import { rocAuc } from '../eval/metrics/roc-auc.ts';
import { fitRandomForest, predictRandomForest, resolveMaxFeatures } from './random-forest.ts';

/**
 * Sparse synthetic data: 200 columns, ~8 non-zeros per row; columns 0-4 appear more often in positives, the
 * rest is noise. Labels are noisy (10% flipped), so a perfect score would be suspicious too.
 */
function synthetic(seed: number, n: number) {
  const rng = createRng(seed);
  const rows: Map<number, number>[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = rng() < 0.5 ? 1 : 0;
    const m = new Map<number, number>();
    for (let k = 0; k < 8; k++) m.set(5 + Math.floor(rng() * 195), rng());
    for (let j = 0; j < 5; j++) if (rng() < (label ? 0.5 : 0.1)) m.set(j, 0.2 + rng());
    rows.push(m);
    y.push(rng() < 0.1 ? 1 - label : label);
  }
  return { x: csrFromRowMaps(rows, 200), y };
}

test('max_features resolves like sklearn', () => {
  assert.equal(resolveMaxFeatures('sqrt', 20000), 141);
  assert.equal(resolveMaxFeatures('log2', 20000), 14);
  assert.equal(resolveMaxFeatures({ fraction: 0.1 }, 55), 5);
  assert.equal(resolveMaxFeatures({ count: 500 }, 55), 55);
  assert.equal(resolveMaxFeatures('log2', 1), 1);
  assert.throws(() => resolveMaxFeatures({ fraction: 0 }, 10));
});

test('same seed gives identical forests and predictions; another seed differs', () => {
  const { x, y } = synthetic(1, 150);
  const opts = { nEstimators: 20, maxFeatures: 'sqrt' as const, minSamplesLeaf: 1 };
  const a = predictRandomForest(fitRandomForest(x, y, opts, createRng(42)), x);
  const b = predictRandomForest(fitRandomForest(x, y, opts, createRng(42)), x);
  const c = predictRandomForest(fitRandomForest(x, y, opts, createRng(43)), x);
  assert.deepEqual([...a], [...b]);
  assert.notDeepEqual([...a], [...c]);
});

test('beats chance clearly on held-out rows of a synthetic signal', () => {
  const train = synthetic(2, 400);
  const test_ = synthetic(3, 300);
  const model = fitRandomForest(train.x, train.y, { nEstimators: 60 }, createRng(5));
  const auc = rocAuc(test_.y, predictRandomForest(model, test_.x));
  assert.ok(auc > 0.75, `held-out ROC-AUC ${auc}`);
  // A forest on shuffled labels must not: the signal, not the code, produces the score above.
  const shuffled = [...train.y];
  const rng = createRng(9);
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  const null_ = rocAuc(test_.y, predictRandomForest(fitRandomForest(train.x, shuffled, { nEstimators: 60 }, createRng(5)), test_.x));
  assert.ok(null_ < 0.65, `shuffled-label ROC-AUC ${null_}`);
});

test('a single tree without bootstrap, all features, grows pure leaves (XOR with negative values and zeros)', () => {
  const X = [
    [-1, -1],
    [-1, 1],
    [1, -1],
    [1, 1],
    [0, 0.5],
    [0, -0.5],
  ];
  const y = [0, 1, 1, 0, 1, 0];
  const x = csrFromDense(X);
  const m = fitRandomForest(x, y, { nEstimators: 1, bootstrap: false, maxFeatures: { fraction: 1 } }, createRng(1));
  assert.deepEqual([...predictRandomForest(m, x)], y);
  const tree = m.trees[0];
  for (let i = 0; i < tree.left.length; i++) {
    if (tree.left[i] === -1) assert.ok(tree.value[i] === 0 || tree.value[i] === 1, 'leaf not pure');
    else assert.ok(Number.isFinite(tree.threshold[i]));
  }
});

test('min_samples_leaf is respected (counted in distinct rows)', () => {
  const { x, y } = synthetic(4, 120);
  const m = fitRandomForest(x, y, { nEstimators: 5, minSamplesLeaf: 7, bootstrap: false }, createRng(3));
  // Route the training rows and count rows per leaf.
  for (const tree of m.trees) {
    const perLeaf = new Map<number, number>();
    const dense = new Float64Array(x.cols);
    for (let i = 0; i < x.rows; i++) {
      for (let k = x.indptr[i]; k < x.indptr[i + 1]; k++) dense[x.indices[k]] = x.data[k];
      let node = 0;
      while (tree.left[node] !== -1) node = dense[tree.feature[node]] <= tree.threshold[node] ? tree.left[node] : tree.right[node];
      perLeaf.set(node, (perLeaf.get(node) ?? 0) + 1);
      for (let k = x.indptr[i]; k < x.indptr[i + 1]; k++) dense[x.indices[k]] = 0;
    }
    for (const [, count] of perLeaf) assert.ok(count >= 7, `leaf with ${count} rows`);
  }
});

test('rejects bad input', () => {
  const x = csrFromDense([[1], [0]]);
  assert.throws(() => fitRandomForest(x, [1, 3], {}, createRng(1)), /not 0\/1/);
  assert.throws(() => fitRandomForest(x, [1, 0], { minSamplesLeaf: 0 }, createRng(1)));
});
