import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectedCalibrationError } from '../eval/metrics/index.ts';
import { calibration, wilsonInterval } from './calibration.ts';

test('calibration bins of a hand example, consistent with the ECE', () => {
  const labels = [0, 0, 1, 0, 1, 1];
  const probabilities = [0.05, 0.15, 0.3, 0.35, 1, 0.95];
  const cal = calibration(labels, probabilities);
  assert.equal(cal.bins.length, 10);
  // Mean predicted rounded to 12 digits: (0.3 + 0.35) / 2 is 0.32499999999999996 in binary floating point.
  const round = (x: number | null) => (x === null ? null : Number(x.toFixed(12)));
  const filled = cal.bins.filter((b) => b.count > 0).map((b) => [b.lower, b.count, b.positives, round(b.meanPredicted), b.observedRate]);
  // 0.3 lands in bin 3 (as its decimal suggests) and 1.0 in the last bin, as in expectedCalibrationError.
  assert.deepEqual(filled, [
    [0, 1, 0, 0.05, 0],
    [0.1, 1, 0, 0.15, 0],
    [0.3, 2, 1, 0.325, 0.5],
    [0.9, 2, 2, 0.975, 1],
  ]);
  assert.equal(cal.bins[5].meanPredicted, null);
  assert.equal(cal.bins[5].observedLow, null);
  // ECE = (0.05 + 0.15 + 2·0.175 + 2·0.025) / 6 = 0.1, and equals the count-weighted gap of the bins.
  assert.ok(Math.abs(cal.ece - 0.1) < 1e-12);
  assert.equal(cal.ece, expectedCalibrationError(labels, probabilities));
  const weighted = cal.bins.reduce((sum, b) => (b.count > 0 ? sum + (b.count / 6) * Math.abs(b.observedRate! - b.meanPredicted!) : sum), 0);
  assert.ok(Math.abs(weighted - cal.ece) < 1e-12);
  // Brier = mean squared error.
  const brier = (0.05 ** 2 + 0.15 ** 2 + 0.7 ** 2 + 0.35 ** 2 + 0 + 0.05 ** 2) / 6;
  assert.ok(Math.abs(cal.brier - brier) < 1e-15);
});

test('Wilson intervals match published values and stay within [0, 1]', () => {
  // R: binom::binom.wilson(4, 20) -> 0.0807, 0.4160; (0, 2) -> 0, 0.6576.
  const [lo, hi] = wilsonInterval(4, 20);
  assert.ok(Math.abs(lo - 0.0807) < 1e-4 && Math.abs(hi - 0.416) < 1e-4, `${lo} ${hi}`);
  const [lo0, hi0] = wilsonInterval(0, 2);
  assert.equal(lo0, 0);
  assert.ok(Math.abs(hi0 - 0.6576) < 1e-4);
  assert.equal(wilsonInterval(3, 3)[1], 1);
  assert.throws(() => wilsonInterval(0, 0), /n is 0/);
});

test('calibration rejects non-probabilities and bad bin counts', () => {
  assert.throws(() => calibration([1, 0], [1.2, 0.1]), /expected a probability/);
  assert.throws(() => calibration([1, 0], [0.2, 0.1], 0), /bins is 0/);
});
