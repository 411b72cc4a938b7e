/**
 * Probability calibration of a trained model, fitted on the valid split's predictions (never on test).
 *
 *  - Platt scaling: p' = sigmoid(a · logit(p) + b), two parameters fitted by Newton's method on the log loss,
 *    with Platt's smoothed targets (y=1 -> (N+ + 1)/(N+ + 2), y=0 -> 1/(N- + 2)) so a separable valid set
 *    cannot push a to infinity. Monotone: it never changes the ranking (PR-AUC, ROC-AUC unchanged).
 *  - Isotonic regression: the pool-adjacent-violators fit of label on score, applied as a piecewise-linear
 *    interpolation between the fitted blocks. Monotone (non-decreasing) but ties scores within a block.
 *
 * Stored in a bundle's `config.json` as `calibration` (see `Calibration` below); `applyCalibration` reads it.
 */

export interface PlattCalibration {
  method: 'platt';
  a: number;
  b: number;
  /** Trials the fit used (informational). */
  n?: number;
  /** Which split it was fitted on, e.g. "valid" (informational). */
  fittedOn?: string;
}

export interface IsotonicCalibration {
  method: 'isotonic';
  /** Increasing raw-probability knots (block means of the scores). */
  x: number[];
  /** Calibrated probability at each knot (non-decreasing). */
  y: number[];
  n?: number;
  fittedOn?: string;
}

export type Calibration = PlattCalibration | IsotonicCalibration;

const EPS = 1e-7;
const clampP = (p: number) => Math.min(1 - EPS, Math.max(EPS, p));
export const logit = (p: number) => {
  const q = clampP(p);
  return Math.log(q / (1 - q));
};
export const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

function checkInputs(probs: ArrayLike<number>, labels: ArrayLike<number>, what: string): void {
  if (probs.length !== labels.length) throw new Error(`${what}: ${probs.length} probabilities but ${labels.length} labels`);
  if (probs.length === 0) throw new Error(`${what}: no predictions to fit on`);
  for (let i = 0; i < probs.length; i++) {
    if (!(probs[i] >= 0 && probs[i] <= 1)) throw new Error(`${what}: probability ${i} is ${probs[i]}, expected a number in [0, 1]`);
    if (labels[i] !== 0 && labels[i] !== 1) throw new Error(`${what}: label ${i} is ${labels[i]}, expected 0 or 1`);
  }
}

/**
 * Fits Platt scaling on (probability, label) pairs, e.g. a model's valid-split predictions.
 * Newton's method with a backtracking line search on the (smoothed-target) log loss.
 */
export function fitPlatt(probs: ArrayLike<number>, labels: ArrayLike<number>, options: { smoothTargets?: boolean; fittedOn?: string } = {}): PlattCalibration {
  checkInputs(probs, labels, 'fitPlatt');
  const n = probs.length;
  const z = Float64Array.from({ length: n }, (_, i) => logit(probs[i]));
  let pos = 0;
  for (let i = 0; i < n; i++) pos += labels[i];
  const neg = n - pos;
  const smooth = options.smoothTargets ?? true;
  const hi = smooth ? (pos + 1) / (pos + 2) : 1;
  const lo = smooth ? 1 / (neg + 2) : 0;
  const t = Float64Array.from({ length: n }, (_, i) => (labels[i] === 1 ? hi : lo));
  const loss = (a: number, b: number) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const f = a * z[i] + b;
      // log(1 + e^f) - t f, stably
      s += (f > 0 ? f + Math.log1p(Math.exp(-f)) : Math.log1p(Math.exp(f))) - t[i] * f;
    }
    return s;
  };
  let a = 1;
  let b = 0;
  let current = loss(a, b);
  for (let iter = 0; iter < 100; iter++) {
    let ga = 0;
    let gb = 0;
    let haa = 1e-12;
    let hab = 0;
    let hbb = 1e-12;
    for (let i = 0; i < n; i++) {
      const p = sigmoid(a * z[i] + b);
      const r = p - t[i];
      const w = p * (1 - p);
      ga += r * z[i];
      gb += r;
      haa += w * z[i] * z[i];
      hab += w * z[i];
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    if (Math.abs(ga) + Math.abs(gb) < 1e-10) break;
    let da: number;
    let db: number;
    if (Math.abs(det) > 1e-18) {
      da = (hbb * ga - hab * gb) / det;
      db = (haa * gb - hab * ga) / det;
    } else {
      // All scores equal: only the intercept is identifiable.
      da = 0;
      db = gb / hbb;
    }
    let step = 1;
    let next = loss(a - step * da, b - step * db);
    while (next > current + 1e-12 && step > 1e-8) {
      step /= 2;
      next = loss(a - step * da, b - step * db);
    }
    if (next > current + 1e-12) break;
    a -= step * da;
    b -= step * db;
    const improved = current - next;
    current = next;
    if (improved < 1e-12 * Math.max(1, Math.abs(current))) break;
  }
  const out: PlattCalibration = { method: 'platt', a, b, n };
  if (options.fittedOn) out.fittedOn = options.fittedOn;
  return out;
}

/** Fits isotonic regression (pool adjacent violators) of label on probability. */
export function fitIsotonic(probs: ArrayLike<number>, labels: ArrayLike<number>, options: { fittedOn?: string } = {}): IsotonicCalibration {
  checkInputs(probs, labels, 'fitIsotonic');
  const order = Array.from({ length: probs.length }, (_, i) => i).sort((i, j) => probs[i] - probs[j]);
  // Blocks: sum of x, sum of y, count. Equal scores start in one block (ties must map to one value).
  const blocks: { sx: number; sy: number; w: number }[] = [];
  for (const i of order) {
    const last = blocks[blocks.length - 1];
    if (last && last.sx / last.w === probs[i]) {
      last.sx += probs[i];
      last.sy += labels[i];
      last.w++;
    } else blocks.push({ sx: probs[i], sy: labels[i], w: 1 });
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1];
      const a = blocks[blocks.length - 2];
      if (a.sy / a.w <= b.sy / b.w) break;
      a.sx += b.sx;
      a.sy += b.sy;
      a.w += b.w;
      blocks.pop();
    }
  }
  const out: IsotonicCalibration = {
    method: 'isotonic',
    x: blocks.map((b) => b.sx / b.w),
    y: blocks.map((b) => b.sy / b.w),
    n: probs.length,
  };
  if (options.fittedOn) out.fittedOn = options.fittedOn;
  return out;
}

/** Checks a `calibration` value read from a bundle; returns a message when it cannot be used. */
export function calibrationProblem(c: unknown): string | null {
  if (c === undefined || c === null) return null;
  if (typeof c !== 'object') return `calibration must be an object, got ${typeof c}`;
  const o = c as Record<string, unknown>;
  if (o.method === 'platt') {
    if (typeof o.a !== 'number' || !Number.isFinite(o.a) || typeof o.b !== 'number' || !Number.isFinite(o.b)) {
      return 'platt calibration needs finite numbers a and b';
    }
    if (o.a < 0) return `platt calibration has a = ${o.a} < 0 (it would reverse the ranking)`;
    return null;
  }
  if (o.method === 'isotonic') {
    const x = o.x;
    const y = o.y;
    if (!Array.isArray(x) || !Array.isArray(y) || x.length === 0 || x.length !== y.length) return 'isotonic calibration needs arrays x and y of equal, non-zero length';
    for (let i = 0; i < x.length; i++) {
      if (typeof x[i] !== 'number' || typeof y[i] !== 'number' || !(y[i] >= 0 && y[i] <= 1)) return `isotonic calibration: knot ${i} is not a number pair with y in [0, 1]`;
      if (i > 0 && (x[i] <= x[i - 1] || y[i] < y[i - 1])) return `isotonic calibration: knots must increase (knot ${i})`;
    }
    return null;
  }
  return `unknown calibration method ${JSON.stringify(o.method)} (expected "platt" or "isotonic")`;
}

/** The calibrated probability of a raw model probability. */
export function applyCalibration(c: Calibration, p: number): number {
  if (c.method === 'platt') return sigmoid(c.a * logit(p) + c.b);
  const { x, y } = c;
  if (p <= x[0]) return y[0];
  if (p >= x[x.length - 1]) return y[y.length - 1];
  let lo = 0;
  let hi = x.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid] <= p) lo = mid;
    else hi = mid;
  }
  const f = (p - x[lo]) / (x[hi] - x[lo]);
  return y[lo] + f * (y[hi] - y[lo]);
}
