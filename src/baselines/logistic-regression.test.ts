import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csrFromDense } from '../features/sparse.ts';
import { minimizeLbfgs } from './lbfgs.ts';
import { fitLogisticRegression, logisticObjective, predictLogisticRegression, sigmoid } from './logistic-regression.ts';
import { createRng } from '../eval/rng.ts';

test('L-BFGS finds the minimum of the Rosenbrock function', () => {
  const r = minimizeLbfgs(
    (x, g) => {
      const [a, b] = [x[0], x[1]];
      g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
      g[1] = 200 * (b - a * a);
      return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
    },
    [-1.2, 1],
    { gradTol: 1e-10 },
  );
  assert.ok(r.converged, r.reason);
  assert.ok(Math.abs(r.x[0] - 1) < 1e-6 && Math.abs(r.x[1] - 1) < 1e-6, `${r.x}`);
});

/**
 * Reference solution by Newton's method on sklearn's objective C·Σ logloss + ½||β||² (intercept free), with the
 * dense Hessian solved by Gaussian elimination — independent of the L-BFGS code path.
 */
function newtonLogistic(X: number[][], y: number[], C: number): number[] {
  const n = X.length;
  const p = X[0].length;
  const d = p + 1;
  const theta = new Array<number>(d).fill(0);
  for (let iter = 0; iter < 100; iter++) {
    const g = new Array<number>(d).fill(0);
    const H = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    for (let i = 0; i < n; i++) {
      const xi = [...X[i], 1];
      const z = xi.reduce((s, v, j) => s + v * theta[j], 0);
      const pr = sigmoid(z);
      for (let a = 0; a < d; a++) {
        g[a] += C * (pr - y[i]) * xi[a];
        for (let b = 0; b < d; b++) H[a][b] += C * pr * (1 - pr) * xi[a] * xi[b];
      }
    }
    for (let j = 0; j < p; j++) {
      g[j] += theta[j];
      H[j][j] += 1;
    }
    const step = solve(H, g);
    for (let j = 0; j < d; j++) theta[j] -= step[j];
    if (Math.max(...step.map(Math.abs)) < 1e-14) break;
  }
  return theta;
}

function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[piv][c])) piv = r;
    [M[c], M[piv]] = [M[piv], M[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  return M.map((row, i) => row[n] / row[i]);
}

function toyProblem(seed: number, n: number, p: number): { X: number[][]; y: number[] } {
  const rng = createRng(seed);
  const beta = Array.from({ length: p }, (_, j) => (j % 2 === 0 ? 1.5 : -1));
  const X: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    // Sparse-ish rows: each feature present with probability 0.5.
    const row = Array.from({ length: p }, () => (rng() < 0.5 ? Math.round((rng() * 4 - 1) * 100) / 100 : 0));
    const z = row.reduce((s, v, j) => s + v * beta[j], -0.3);
    X.push(row);
    y.push(rng() < sigmoid(z) ? 1 : 0);
  }
  return { X, y };
}

test('logistic regression matches a Newton solution of the same objective (several C)', () => {
  const { X, y } = toyProblem(7, 60, 4);
  for (const C of [0.1, 1, 10]) {
    const ref = newtonLogistic(X, y, C);
    const m = fitLogisticRegression(csrFromDense(X), y, { C });
    assert.ok(m.fit.converged, `C=${C}: ${m.fit.reason}`);
    for (let j = 0; j < 4; j++) assert.ok(Math.abs(m.weights[j] - ref[j]) < 1e-5, `C=${C} w${j}: ${m.weights[j]} vs ${ref[j]}`);
    assert.ok(Math.abs(m.intercept - ref[4]) < 1e-5, `C=${C} b: ${m.intercept} vs ${ref[4]}`);
  }
});

test('the intercept is not penalised: with tiny C the model predicts the base rate', () => {
  // No features at all carry signal here; as C -> 0, β -> 0 and sigmoid(b) -> mean(y) only if b is free.
  const X = [[1, 0], [0, 1], [1, 1], [0, 0], [1, 0], [0, 1], [1, 1], [0, 0]];
  const y = [1, 1, 1, 1, 1, 1, 0, 0];
  const m = fitLogisticRegression(csrFromDense(X), y, { C: 1e-6 });
  assert.ok(Math.abs(sigmoid(m.intercept) - 0.75) < 1e-4, `${sigmoid(m.intercept)}`);
});

test('gradient of the scaled objective matches finite differences', () => {
  const { X, y } = toyProblem(3, 20, 3);
  const f = logisticObjective(csrFromDense(X), y, 2, true);
  const theta = Float64Array.from([0.3, -0.2, 0.5, 0.1]);
  const g = new Float64Array(4);
  f(theta, g);
  const h = 1e-6;
  for (let j = 0; j < 4; j++) {
    const tp = theta.slice();
    const tm = theta.slice();
    tp[j] += h;
    tm[j] -= h;
    const num = (f(tp, new Float64Array(4)) - f(tm, new Float64Array(4))) / (2 * h);
    assert.ok(Math.abs(num - g[j]) < 1e-8, `d${j}: ${num} vs ${g[j]}`);
  }
});

test('converges on a separable toy and classifies it perfectly; larger C gives larger weights', () => {
  const X = [[1, 0], [0.9, 0.1], [0.8, 0], [0, 1], [0.1, 0.9], [0, 0.7]];
  const y = [1, 1, 1, 0, 0, 0];
  const x = csrFromDense(X);
  let prevNorm = 0;
  for (const C of [0.1, 1, 100]) {
    const m = fitLogisticRegression(x, y, { C });
    assert.ok(m.fit.converged, `C=${C}: ${m.fit.reason}`);
    const p = predictLogisticRegression(m, x);
    for (let i = 0; i < y.length; i++) assert.equal(p[i] >= 0.5 ? 1 : 0, y[i], `C=${C} row ${i}`);
    const norm = Math.hypot(...m.weights);
    assert.ok(norm > prevNorm, `norm ${norm} should grow with C`);
    prevNorm = norm;
  }
});

test('rejects bad input', () => {
  const x = csrFromDense([[1], [0]]);
  assert.throws(() => fitLogisticRegression(x, [1, 2]), /not 0\/1/);
  assert.throws(() => fitLogisticRegression(x, [1]), /labels/);
  assert.throws(() => fitLogisticRegression(x, [1, 0], { C: 0 }), /C must be/);
});
