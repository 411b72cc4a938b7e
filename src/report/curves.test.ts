import { test } from 'node:test';
import assert from 'node:assert/strict';
import { averagePrecision, rocAuc } from '../eval/metrics/index.ts';
import { createRng } from '../eval/rng.ts';
import { precisionAtRecall, prCurve, rocCurve, tprAtFpr, unitGrid } from './curves.ts';

// Hand example with a tie: scores 0.9(+) 0.8(-) 0.7(+) 0.7(+) 0.4(-) 0.4(-); P = N = 3.
// Cumulative (tp, fp) by distinct score: 0.9 -> (1,0), 0.8 -> (1,1), 0.7 -> (3,1), 0.4 -> (3,3).
const labels = [1, 0, 1, 1, 0, 0];
const scores = [0.9, 0.8, 0.7, 0.7, 0.4, 0.4];

test('ROC points of the hand example, ties entering together', () => {
  assert.deepEqual(
    rocCurve(labels, scores).map((p) => [p.threshold, p.fpr, p.tpr]),
    [
      [Infinity, 0, 0],
      [0.9, 0, 1 / 3],
      [0.8, 1 / 3, 1 / 3],
      [0.7, 1 / 3, 1],
      [0.4, 1, 1],
    ],
  );
});

test('PR points of the hand example', () => {
  assert.deepEqual(
    prCurve(labels, scores).map((p) => [p.threshold, p.recall, p.precision]),
    [
      [0.9, 1 / 3, 1],
      [0.8, 1 / 3, 1 / 2],
      [0.7, 1, 3 / 4],
      [0.4, 1, 1 / 2],
    ],
  );
});

test('TPR at fixed FPR: upper end of vertical segments, linear in between', () => {
  const roc = rocCurve(labels, scores);
  assert.deepEqual(tprAtFpr(roc, [0, 1 / 6, 1 / 3, 0.5, 1]), [1 / 3, 1 / 3, 1, 1, 1]);
  // A diagonal segment: points (0,0) -> (1,1) for a constant score, interpolated linearly.
  const flat = rocCurve([1, 0], [0.5, 0.5]);
  assert.deepEqual(tprAtFpr(flat, [0, 0.25, 0.5, 1]), [0, 0.25, 0.5, 1]);
});

test('precision at fixed recall is the average-precision step function', () => {
  const pr = prCurve(labels, scores);
  // Recall in (0, 1/3] -> precision of the first threshold reaching it (1); (1/3, 1] -> 3/4, not the later 1/2.
  assert.deepEqual(precisionAtRecall(pr, [0, 0.25, 1 / 3, 0.5, 1]), [1, 1, 1, 0.75, 0.75]);
  // A first group of negatives recalls nothing: recall 0 takes the first threshold that recalls something.
  const late = prCurve([0, 1, 0], [0.9, 0.5, 0.1]);
  assert.deepEqual(precisionAtRecall(late, [0, 1]), [0.5, 0.5]);
});

test('areas of the gridded curves approach rocAuc and averagePrecision on random data', () => {
  const rng = createRng(7);
  const y: number[] = [];
  const s: number[] = [];
  for (let i = 0; i < 300; i++) {
    const label = rng() < 0.6 ? 1 : 0;
    y.push(label);
    // Rounded to 2 digits so that ties occur.
    s.push(Math.round((0.4 * label + 0.6 * rng()) * 100) / 100);
  }
  const grid = unitGrid(20001);
  const tpr = tprAtFpr(rocCurve(y, s), grid);
  let rocArea = 0;
  for (let i = 1; i < grid.length; i++) rocArea += ((tpr[i] + tpr[i - 1]) / 2) * (grid[i] - grid[i - 1]);
  assert.ok(Math.abs(rocArea - rocAuc(y, s)) < 1e-3, `${rocArea} vs ${rocAuc(y, s)}`);
  // Right Riemann sum of a left-continuous step function: exact up to the grid's resolution.
  const precision = precisionAtRecall(prCurve(y, s), grid);
  let prArea = 0;
  for (let i = 1; i < grid.length; i++) prArea += precision[i] * (grid[i] - grid[i - 1]);
  assert.ok(Math.abs(prArea - averagePrecision(y, s)) < 1e-3, `${prArea} vs ${averagePrecision(y, s)}`);
});

test('undefined curves throw like the metrics', () => {
  assert.throws(() => rocCurve([1, 1], [0.2, 0.3]), /only one class/);
  assert.throws(() => prCurve([0, 0], [0.2, 0.3]), /no positive labels/);
  assert.throws(() => unitGrid(1), /count is 1/);
  assert.deepEqual(unitGrid(3), [0, 0.5, 1]);
});
