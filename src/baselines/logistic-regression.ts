/**
 * L2-regularised logistic regression on sparse input, with scikit-learn's parameterisation:
 *
 *     minimise  C * sum_i w_i * logloss(y_i, x_i·β + b)  +  ½ ||β||²      (intercept b not penalised)
 *
 * so `C` is the inverse regularisation strength of `sklearn.linear_model.LogisticRegression(penalty='l2')`.
 * The objective is divided by `C * sum(w)` before optimisation (sklearn >= 1.2 does the same); the minimiser is
 * unchanged and the gradient tolerance becomes independent of the data size.
 *
 * Unlike sklearn's default (`max_iter=100`, which stops early on TF-IDF data at large C), L-BFGS runs to a
 * tight gradient tolerance, so the result is the actual optimum and does not depend on the solver's budget.
 */
import type { CsrMatrix } from '../features/sparse.ts';
import { csrMatVec, csrTransposeMatVec, validateCsr } from '../features/sparse.ts';
import { minimizeLbfgs, type LbfgsOptions, type LbfgsResult } from './lbfgs.ts';

export interface LogisticRegressionOptions {
  /** Inverse regularisation strength (> 0), as in sklearn. */
  C: number;
  /** Fit an unpenalised intercept. */
  fitIntercept: boolean;
  /** Optimiser settings; gradTol applies to the per-sample-averaged objective. */
  solver: Partial<LbfgsOptions>;
}

export const DEFAULT_LOGISTIC_OPTIONS: LogisticRegressionOptions = {
  C: 1,
  fitIntercept: true,
  solver: {},
};

export interface LogisticRegressionModel {
  kind: 'logistic-regression';
  C: number;
  weights: Float64Array;
  intercept: number;
  /** Optimiser report: a baseline that did not converge must be visible in metrics.json. */
  fit: Pick<LbfgsResult, 'iterations' | 'evaluations' | 'converged' | 'reason' | 'gradMaxAbs' | 'value'>;
}

/** Numerically stable log(1 + e^z). */
export function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** Numerically stable 1 / (1 + e^-z). */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/**
 * The scaled objective and its gradient over θ = [β..., b]:
 *   F(θ) = Σ w_i (softplus(z_i) - y_i z_i) / W  +  ||β||² / (2 C W),   z = Xβ + b,  W = Σ w_i.
 * Exposed so tests can check the gradient by finite differences.
 */
export function logisticObjective(
  x: CsrMatrix,
  y: ArrayLike<number>,
  C: number,
  fitIntercept: boolean,
  sampleWeight?: ArrayLike<number>,
): (theta: Float64Array, grad: Float64Array) => number {
  const n = x.rows;
  const p = x.cols;
  let totalW = 0;
  for (let i = 0; i < n; i++) totalW += sampleWeight ? sampleWeight[i] : 1;
  if (!(totalW > 0)) throw new RangeError('total sample weight must be positive');
  const z = new Float64Array(n);
  const resid = new Float64Array(n);
  const gw = new Float64Array(p);
  const lambda = 1 / (C * totalW);
  return (theta, grad) => {
    const b = fitIntercept ? theta[p] : 0;
    csrMatVec(x, theta, z, b);
    let loss = 0;
    let gb = 0;
    for (let i = 0; i < n; i++) {
      const wi = (sampleWeight ? sampleWeight[i] : 1) / totalW;
      loss += wi * (softplus(z[i]) - y[i] * z[i]);
      const r = wi * (sigmoid(z[i]) - y[i]);
      resid[i] = r;
      gb += r;
    }
    csrTransposeMatVec(x, resid, gw);
    let reg = 0;
    for (let j = 0; j < p; j++) {
      reg += theta[j] * theta[j];
      grad[j] = gw[j] + lambda * theta[j];
    }
    if (fitIntercept) grad[p] = gb;
    return loss + 0.5 * lambda * reg;
  };
}

export function fitLogisticRegression(
  x: CsrMatrix,
  y: ArrayLike<number>,
  options: Partial<LogisticRegressionOptions> = {},
  sampleWeight?: ArrayLike<number>,
): LogisticRegressionModel {
  const o: LogisticRegressionOptions = { ...DEFAULT_LOGISTIC_OPTIONS, ...options };
  if (!(o.C > 0) || !Number.isFinite(o.C)) throw new RangeError(`C must be a positive finite number, got ${o.C}`);
  validateCsr(x);
  if (y.length !== x.rows) throw new RangeError(`${y.length} labels for ${x.rows} rows`);
  for (let i = 0; i < y.length; i++) if (y[i] !== 0 && y[i] !== 1) throw new RangeError(`label ${y[i]} at row ${i} is not 0/1`);
  if (sampleWeight && sampleWeight.length !== x.rows) throw new RangeError('sampleWeight length differs from rows');

  const p = x.cols;
  const objective = logisticObjective(x, y, o.C, o.fitIntercept, sampleWeight);
  const theta0 = new Float64Array(p + (o.fitIntercept ? 1 : 0));
  const result = minimizeLbfgs(objective, theta0, o.solver);
  return {
    kind: 'logistic-regression',
    C: o.C,
    weights: result.x.slice(0, p),
    intercept: o.fitIntercept ? result.x[p] : 0,
    fit: {
      iterations: result.iterations,
      evaluations: result.evaluations,
      converged: result.converged,
      reason: result.reason,
      gradMaxAbs: result.gradMaxAbs,
      value: result.value,
    },
  };
}

/** P(y = 1 | x) for every row of `x`. */
export function predictLogisticRegression(model: LogisticRegressionModel, x: CsrMatrix): Float64Array {
  if (x.cols !== model.weights.length) throw new RangeError(`model has ${model.weights.length} features, input ${x.cols}`);
  const z = csrMatVec(x, model.weights, new Float64Array(x.rows), model.intercept);
  for (let i = 0; i < z.length; i++) z[i] = sigmoid(z[i]);
  return z;
}
