import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../eval/rng.ts';
import { curveBands } from './curve-bands.ts';
import { precisionAtRecall, prCurve, rocCurve, tprAtFpr, unitGrid } from './curves.ts';

function synthetic(n: number, seed: number): { y: number[]; s: number[] } {
  const rng = createRng(seed);
  const y: number[] = [];
  const s: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = rng() < 0.55 ? 1 : 0;
    y.push(label);
    s.push(Math.min(1, Math.max(0, 0.35 + 0.2 * label + 0.4 * (rng() - 0.5))));
  }
  return { y, s };
}

test('the bands contain the point curve and the point curve is the full-data curve', () => {
  const { y, s } = synthetic(400, 3);
  const bands = curveBands(y, s, { resamples: 200, seed: 11 });
  const grid = unitGrid(101);
  assert.deepEqual(bands.roc.point, tprAtFpr(rocCurve(y, s), grid));
  assert.deepEqual(bands.pr.point, precisionAtRecall(prCurve(y, s), grid));
  for (const band of [bands.roc, bands.pr]) {
    assert.equal(band.grid.length, 101);
    assert.equal(band.definedResamples, 200);
    for (let g = 0; g < band.grid.length; g++) {
      assert.ok(band.lower[g] <= band.upper[g]);
      assert.ok(
        band.lower[g] - 1e-12 <= band.point[g] && band.point[g] <= band.upper[g] + 1e-12,
        `grid ${band.grid[g]}: ${band.point[g]} outside [${band.lower[g]}, ${band.upper[g]}]`,
      );
    }
  }
  // The band has width where the curve is uncertain (mid-range), i.e. it is not a copy of the curve.
  assert.ok(bands.roc.upper[30] - bands.roc.lower[30] > 0.02);
});

test('a seed reproduces the bands; another seed changes them', () => {
  const { y, s } = synthetic(120, 5);
  const a = curveBands(y, s, { resamples: 40, seed: 1 });
  const b = curveBands(y, s, { resamples: 40, seed: 1 });
  const c = curveBands(y, s, { resamples: 40, seed: 2 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.roc.lower, c.roc.lower);
});

test('one-class resamples are skipped, not counted as chance', () => {
  // One positive in three: a resample draws no positive with probability (2/3)^3, about 30%.
  const bands = curveBands([1, 0, 0], [0.9, 0.2, 0.1], { resamples: 100, seed: 4 });
  assert.ok(bands.roc.definedResamples < 100 && bands.roc.definedResamples > 30);
  assert.ok(bands.pr.definedResamples >= bands.roc.definedResamples);
  // With a perfect ranking every defined resample has the perfect curves.
  assert.ok(bands.roc.lower.every((v) => v === 1));
  assert.ok(bands.pr.lower.every((v) => v === 1));
  assert.throws(() => curveBands([1, 1], [0.3, 0.4]), /only one class/);
  assert.throws(() => curveBands([1, 0], [0.3, 0.4], { resamples: 0 }), /resamples is 0/);
});
