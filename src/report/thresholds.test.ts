import { test } from 'node:test';
import assert from 'node:assert/strict';
import { f1Score } from '../eval/metrics/index.ts';
import { chooseThresholdOnValid, GRID_THRESHOLDS, thresholdRow, thresholdTable } from './thresholds.ts';

const labels = [1, 1, 0, 1, 0];
const probabilities = [0.9, 0.6, 0.55, 0.3, 0.1];

test('a threshold row by hand: predicted positive iff p >= t', () => {
  // t = 0.5: predicted [1,1,1,0,0] -> tp 2, fp 1, fn 1, tn 1.
  const row = thresholdRow(labels, probabilities, 0.5, 'grid');
  assert.deepEqual(row, { threshold: 0.5, source: 'grid', precision: 2 / 3, recall: 2 / 3, f1: 4 / 6, accuracy: 3 / 5, predictedPositiveRate: 3 / 5 });
  // A score equal to the threshold counts as predicted positive.
  assert.equal(thresholdRow(labels, probabilities, 0.55, 'x').predictedPositiveRate, 3 / 5);
  // Nothing predicted positive: precision undefined (null), not 0.
  const none = thresholdRow(labels, probabilities, 0.95, 'x');
  assert.equal(none.precision, null);
  assert.equal(none.recall, 0);
  assert.equal(none.f1, 0);
  assert.equal(none.accuracy, 2 / 5);
});

test('the table has the 0.1..0.9 grid, marks 0.5, and appends extra thresholds', () => {
  assert.deepEqual(GRID_THRESHOLDS, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
  const rows = thresholdTable(labels, probabilities, { extra: [{ threshold: 0.3, source: 'chosen on valid' }] });
  assert.equal(rows.length, 10);
  assert.equal(rows[4].source, 'grid (protocol threshold)');
  assert.equal(rows[9].source, 'chosen on valid');
  for (const r of rows) assert.ok(Math.abs(r.f1 - f1Score(labels, probabilities, r.threshold)) < 1e-15);
});

test('the valid threshold maximises F1 over the distinct scores; ties go to the higher one', () => {
  // F1 by threshold: 0.9 -> 1/2, 0.6 -> 4/5, 0.55 -> 2/3, 0.3 -> 6/7, 0.1 -> 3/4.
  assert.deepEqual(chooseThresholdOnValid(labels, probabilities), { threshold: 0.3, validF1: 6 / 7 });
  // 0.9 -> (tp 1, fp 0) and 0.6 -> (tp 2, fp 2) both give F1 2/3 with 2 positives.
  assert.deepEqual(chooseThresholdOnValid([1, 0, 0, 1], [0.9, 0.8, 0.7, 0.6]), { threshold: 0.9, validF1: 2 / 3 });
});
