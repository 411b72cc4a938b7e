import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pairedBootstrap } from './paired-bootstrap.ts';
import { createRng } from './rng.ts';

// 400 rows: `good` ranks by the label plus noise, `noise` is unrelated to it.
const rng = createRng(7);
const labels = Array.from({ length: 400 }, (_, i) => (i % 3 === 0 ? 0 : 1));
const good = labels.map((y) => 0.3 * y + 0.7 * rng());
const noise = labels.map(() => rng());

test('a clearly better model has a positive interval that excludes 0', () => {
  const r = pairedBootstrap(labels, good, noise, { resamples: 500, seed: 1 });
  assert.ok(r.rocAuc.point > 0.1, `point ${r.rocAuc.point}`);
  assert.ok(r.rocAuc.ci95[0] > 0 && r.prAuc.ci95[0] > 0);
  assert.ok(r.rocAuc.ci95[0] <= r.rocAuc.point && r.rocAuc.point <= r.rocAuc.ci95[1]);
  assert.equal(r.rocAuc.shareAHigher, 1);
});

test('a model against itself differs by exactly 0 in every resample', () => {
  const r = pairedBootstrap(labels, good, good, { resamples: 200, seed: 1 });
  assert.deepEqual([r.prAuc.point, r.prAuc.ci95[0], r.prAuc.ci95[1], r.rocAuc.shareAHigher], [0, 0, 0, 0]);
});

test('swapping the models negates the interval; same seed, same numbers', () => {
  const ab = pairedBootstrap(labels, good, noise, { resamples: 300, seed: 5 });
  const ba = pairedBootstrap(labels, noise, good, { resamples: 300, seed: 5 });
  assert.ok(Math.abs(ab.prAuc.ci95[0] + ba.prAuc.ci95[1]) < 1e-12);
  assert.deepEqual(pairedBootstrap(labels, good, noise, { resamples: 300, seed: 5 }), ab);
});

test('mismatched lengths and one-class labels are refused', () => {
  assert.throws(() => pairedBootstrap([0, 1], [0.1], [0.2, 0.3]), /2 labels/);
  assert.throws(() => pairedBootstrap([1, 1], [0.1, 0.2], [0.2, 0.3]), /both classes/);
});
