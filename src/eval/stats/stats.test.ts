import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mean } from './mean.ts';
import { percentile } from './percentile.ts';
import { populationStd } from './population-std.ts';
import { meanAndStd } from './mean-and-std.ts';

// Expected values printed by numpy 2.4.6 (np.mean, np.std, np.percentile).
test('mean, population std and percentiles match numpy', () => {
  const v = [0.71, 0.69, 0.74, 0.7, 0.72, 0.68, 0.73, 0.705, 0.715, 0.7];
  assert.ok(Math.abs(mean(v) - 0.709) < 1e-15);
  assert.ok(Math.abs(populationStd(v) - 0.017146428199482245) < 1e-15);
  assert.ok(Math.abs(percentile(v, 2.5) - 0.68225) < 1e-15);
  assert.ok(Math.abs(percentile(v, 97.5) - 0.73775) < 1e-15);
  assert.equal(percentile([1, 2, 3, 4], 2.5), 1.075);
  assert.equal(percentile([0.75, 1.0], 2.5), 0.75625);
  assert.equal(percentile([0.75, 1.0], 97.5), 0.99375);
  assert.equal(populationStd([0.75, 1.0]), 0.125);
});

test('percentile edge cases: one value, unsorted input, the ends', () => {
  assert.equal(percentile([3], 50), 3);
  assert.equal(percentile([5, 1, 3], 50), 3);
  assert.equal(percentile([5, 1, 3], 100), 5);
  assert.equal(percentile([5, 1, 3], 0), 1);
  assert.equal(populationStd([2, 2, 2]), 0);
});

test('empty inputs and bad percentiles throw', () => {
  assert.throws(() => mean([]), /no values/);
  assert.throws(() => populationStd([]), /no values/);
  assert.throws(() => percentile([], 50), /no values/);
  assert.throws(() => percentile([1], 101), /p is 101/);
  assert.throws(() => percentile([1], Number.NaN), /p is NaN/);
});

test('meanAndStd is the mean and the population std (numpy np.mean, np.std)', () => {
  // numpy: np.mean([1, 2, 4, 7]) = 3.5, np.std([1, 2, 4, 7]) = 2.2912878474779199
  assert.deepEqual(meanAndStd([1, 2, 4, 7]), { mean: 3.5, std: 2.29128784747792 });
  assert.throws(() => meanAndStd([]), /no values/);
});
