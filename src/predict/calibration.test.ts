import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../eval/rng.ts';
import { applyCalibration, calibrationProblem, fitIsotonic, fitPlatt, logit, sigmoid } from './calibration.ts';

/** Scores whose true success rate is sigmoid(a0 logit(p) + b0). */
function synthetic(n: number, a0: number, b0: number, seed: number) {
  const rng = createRng(seed);
  const probs: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = 0.02 + 0.96 * rng();
    probs.push(p);
    labels.push(rng() < sigmoid(a0 * logit(p) + b0) ? 1 : 0);
  }
  return { probs, labels };
}

test('fitPlatt recovers the miscalibration of synthetic scores', () => {
  const { probs, labels } = synthetic(20000, 0.5, -0.4, 3);
  const c = fitPlatt(probs, labels, { smoothTargets: false, fittedOn: 'valid' });
  assert.equal(c.method, 'platt');
  assert.equal(c.fittedOn, 'valid');
  assert.equal(c.n, 20000);
  assert.ok(Math.abs(c.a - 0.5) < 0.05, `a = ${c.a}`);
  assert.ok(Math.abs(c.b + 0.4) < 0.05, `b = ${c.b}`);
  // Monotone: the ranking is kept.
  assert.ok(applyCalibration(c, 0.3) < applyCalibration(c, 0.6));
});

test('fitPlatt stays finite on separable data (smoothed targets) and on constant scores', () => {
  const c = fitPlatt([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]);
  assert.ok(Number.isFinite(c.a) && Number.isFinite(c.b) && c.a > 0);
  const flat = fitPlatt([0.5, 0.5, 0.5, 0.5], [1, 1, 1, 0]);
  // Only the intercept is identifiable: the calibrated value is the mean smoothed target, 3/4·(4/5) + 1/4·(1/3).
  assert.ok(Math.abs(applyCalibration(flat, 0.5) - (0.75 * 0.8 + 0.25 / 3)) < 1e-9);
  assert.throws(() => fitPlatt([0.5], [2]), /label 0 is 2/);
  assert.throws(() => fitPlatt([], []), /no predictions/);
});

test('fitIsotonic is a non-decreasing step fit; applyCalibration interpolates and clamps', () => {
  const c = fitIsotonic([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0, 1, 0, 1, 1, 1]);
  for (let i = 1; i < c.y.length; i++) assert.ok(c.y[i] >= c.y[i - 1]);
  assert.deepEqual(c.y, [0, 0.5, 1, 1, 1]);
  assert.deepEqual(c.x.slice(0, 2), [0.1, 0.25]);
  assert.equal(applyCalibration(c, 0), 0);
  assert.equal(applyCalibration(c, 0.99), 1);
  const mid = applyCalibration(c, (c.x[0] + c.x[1]) / 2);
  assert.ok(mid > 0 && mid < 0.5);
  assert.equal(calibrationProblem(c), null);
});

test('calibrationProblem rejects unusable calibrations', () => {
  assert.equal(calibrationProblem(undefined), null);
  assert.equal(calibrationProblem({ method: 'platt', a: 1, b: 0 }), null);
  assert.match(calibrationProblem({ method: 'platt', a: -1, b: 0 })!, /reverse the ranking/);
  assert.match(calibrationProblem({ method: 'platt', a: 'x', b: 0 })!, /finite numbers/);
  assert.match(calibrationProblem({ method: 'isotonic', x: [0.2, 0.1], y: [0, 1] })!, /increase/);
  assert.match(calibrationProblem({ method: 'beta' })!, /unknown calibration method/);
});
