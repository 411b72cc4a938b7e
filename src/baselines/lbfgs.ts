/**
 * Limited-memory BFGS with a strong-Wolfe line search (Nocedal & Wright, Numerical Optimization, 2nd ed.,
 * algorithms 7.4, 3.5 and 3.6). Used for the L2 logistic-regression baseline, whose objective is smooth and
 * strictly convex; the Wolfe conditions guarantee s·y > 0, so the inverse-Hessian approximation stays positive
 * definite without damping.
 *
 * Everything is deterministic: no randomness, fixed iteration order, plain float64 arithmetic.
 */

/** Objective: writes the gradient at `x` into `grad` and returns the value. */
export type ObjectiveFn = (x: Float64Array, grad: Float64Array) => number;

export interface LbfgsOptions {
  /** Stop when max |gradient| <= gradTol. */
  gradTol: number;
  /** Stop when the relative decrease of the objective over one iteration is <= relTol (scipy's `ftol`). */
  relTol: number;
  /** Iteration cap; reaching it is reported as `converged: false`, never thrown. */
  maxIter: number;
  /** Number of (s, y) pairs kept. */
  history: number;
  /** Line-search evaluation cap per iteration. */
  maxLineSearch: number;
}

export const DEFAULT_LBFGS_OPTIONS: LbfgsOptions = {
  gradTol: 1e-8,
  relTol: 1e-14,
  maxIter: 2000,
  history: 10,
  maxLineSearch: 40,
};

export interface LbfgsResult {
  x: Float64Array;
  value: number;
  gradMaxAbs: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
  /** Why the loop ended: gradient small, objective stalled, iteration cap, or line search failure. */
  reason: 'gradient' | 'objective' | 'max-iterations' | 'line-search';
}

const C1 = 1e-4; // sufficient decrease
const C2 = 0.9; // curvature (0.9 is the usual choice for quasi-Newton directions)

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > m) m = v;
  }
  return m;
}

export function minimizeLbfgs(fn: ObjectiveFn, x0: ArrayLike<number>, options: Partial<LbfgsOptions> = {}): LbfgsResult {
  const o: LbfgsOptions = { ...DEFAULT_LBFGS_OPTIONS, ...options };
  const n = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let f = fn(x, g);
  let evaluations = 1;
  if (!Number.isFinite(f)) throw new RangeError('objective is not finite at the starting point');

  const sHist: Float64Array[] = [];
  const yHist: Float64Array[] = [];
  const rhoHist: number[] = [];
  const dir = new Float64Array(n);
  const alphaBuf = new Float64Array(o.history);
  // Trial point buffers of the line search; swapped with x/g on acceptance to avoid copies.
  let xTrial = new Float64Array(n);
  let gTrial = new Float64Array(n);

  let iterations = 0;
  let reason: LbfgsResult['reason'] = 'max-iterations';
  if (maxAbs(g) <= o.gradTol) reason = 'gradient';

  while (reason === 'max-iterations' && iterations < o.maxIter) {
    // Two-loop recursion: dir = -H g.
    for (let i = 0; i < n; i++) dir[i] = -g[i];
    const k = sHist.length;
    for (let j = k - 1; j >= 0; j--) {
      const a = rhoHist[j] * dot(sHist[j], dir);
      alphaBuf[j] = a;
      const yj = yHist[j];
      for (let i = 0; i < n; i++) dir[i] -= a * yj[i];
    }
    if (k > 0) {
      // Initial Hessian scaling gamma = s·y / y·y of the newest pair (N&W eq. 7.20).
      const gamma = dot(sHist[k - 1], yHist[k - 1]) / dot(yHist[k - 1], yHist[k - 1]);
      for (let i = 0; i < n; i++) dir[i] *= gamma;
    }
    for (let j = 0; j < k; j++) {
      const b = rhoHist[j] * dot(yHist[j], dir);
      const sj = sHist[j];
      const coef = alphaBuf[j] - b;
      for (let i = 0; i < n; i++) dir[i] += coef * sj[i];
    }
    let d0 = dot(g, dir);
    if (!(d0 < 0)) {
      // Not a descent direction (can only happen through rounding): restart from steepest descent.
      sHist.length = yHist.length = rhoHist.length = 0;
      for (let i = 0; i < n; i++) dir[i] = -g[i];
      d0 = dot(g, dir);
    }
    // First step without curvature information: a unit step along -g could be huge, so scale it to length 1.
    const alpha0 = k === 0 ? Math.min(1, 1 / Math.sqrt(-d0)) : 1;

    let fTrial = NaN;
    let dTrial = NaN;
    let lastAlpha = NaN;
    const phi = (alpha: number): [number, number] => {
      for (let i = 0; i < n; i++) xTrial[i] = x[i] + alpha * dir[i];
      fTrial = fn(xTrial, gTrial);
      evaluations++;
      dTrial = dot(gTrial, dir);
      lastAlpha = alpha;
      return [fTrial, dTrial];
    };
    const alpha = strongWolfe(phi, f, d0, alpha0, o.maxLineSearch);
    if (alpha === null) {
      reason = 'line-search';
      break;
    }
    if (lastAlpha !== alpha) phi(alpha);
    iterations++;

    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xTrial[i] - x[i];
      y[i] = gTrial[i] - g[i];
    }
    const fPrev = f;
    [x, xTrial] = [xTrial, x];
    [g, gTrial] = [gTrial, g];
    f = fTrial;

    const sy = dot(s, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (sHist.length === o.history) {
        sHist.shift();
        yHist.shift();
        rhoHist.shift();
      }
      sHist.push(s);
      yHist.push(y);
      rhoHist.push(1 / sy);
    }

    if (maxAbs(g) <= o.gradTol) reason = 'gradient';
    else if ((fPrev - f) / Math.max(Math.abs(fPrev), Math.abs(f), 1) <= o.relTol) reason = 'objective';
  }

  const gm = maxAbs(g);
  return {
    x,
    value: f,
    gradMaxAbs: gm,
    iterations,
    evaluations,
    converged: reason === 'gradient' || reason === 'objective',
    reason,
  };
}

/**
 * Step length satisfying the strong Wolfe conditions (N&W algorithm 3.5 with the zoom of algorithm 3.6 and
 * safeguarded cubic interpolation). Returns null when no acceptable step was found within `maxEval` evaluations
 * and no step with sufficient decrease exists either.
 */
function strongWolfe(phi: (a: number) => [number, number], f0: number, d0: number, alpha1: number, maxEval: number): number | null {
  let aPrev = 0;
  let fPrev = f0;
  let dPrev = d0;
  let a = alpha1;
  let evals = 0;
  // Best point with sufficient decrease seen so far, returned if the budget runs out.
  let best: number | null = null;
  let bestF = f0;

  const zoom = (lo: number, hi: number, fLo: number, fHi: number, dLo: number, dHi: number): number | null => {
    while (evals < maxEval) {
      const width = hi - lo;
      let aj = cubicMin(lo, fLo, dLo, hi, fHi, dHi);
      const left = Math.min(lo, hi);
      const right = Math.max(lo, hi);
      // Keep the trial well inside the bracket; otherwise bisect (guarantees the bracket shrinks).
      if (!Number.isFinite(aj) || aj < left + 0.1 * Math.abs(width) || aj > right - 0.1 * Math.abs(width)) aj = lo + 0.5 * width;
      const [fj, dj] = phi(aj);
      evals++;
      if (fj > f0 + C1 * aj * d0 || fj >= fLo) {
        hi = aj;
        fHi = fj;
        dHi = dj;
      } else {
        if (fj < bestF) {
          best = aj;
          bestF = fj;
        }
        if (Math.abs(dj) <= -C2 * d0) return aj;
        if (dj * (hi - lo) >= 0) {
          hi = lo;
          fHi = fLo;
          dHi = dLo;
        }
        lo = aj;
        fLo = fj;
        dLo = dj;
      }
      if (Math.abs(hi - lo) <= 1e-16 * Math.max(1, Math.abs(lo))) break;
    }
    return best;
  };

  while (evals < maxEval) {
    const [f, d] = phi(a);
    evals++;
    if (!Number.isFinite(f)) {
      // Overflow far along the direction: shrink and retry instead of bracketing on a non-number.
      a *= 0.1;
      continue;
    }
    if (f > f0 + C1 * a * d0 || (evals > 1 && f >= fPrev)) return zoom(aPrev, a, fPrev, f, dPrev, d);
    if (f < bestF) {
      best = a;
      bestF = f;
    }
    if (Math.abs(d) <= -C2 * d0) return a;
    if (d >= 0) return zoom(a, aPrev, f, fPrev, d, dPrev);
    aPrev = a;
    fPrev = f;
    dPrev = d;
    a *= 2;
  }
  return best;
}

/** Minimiser of the cubic interpolating f and f' at a and b (N&W eq. 3.59); NaN when it does not exist. */
function cubicMin(a: number, fa: number, da: number, b: number, fb: number, db: number): number {
  const d1 = da + db - (3 * (fa - fb)) / (a - b);
  const disc = d1 * d1 - da * db;
  if (!(disc >= 0)) return NaN;
  const d2 = Math.sign(b - a) * Math.sqrt(disc);
  const denom = db - da + 2 * d2;
  if (denom === 0) return NaN;
  return b - ((b - a) * (db + d2 - d1)) / denom;
}
