/**
 * The p-th percentile (0 ≤ p ≤ 100) with linear interpolation between the closest ranks, as numpy's
 * `np.percentile` default (method "linear"): position `p/100 · (n − 1)` in the sorted values.
 * The interpolation is written as numpy's `_lerp` does it (from the upper value when the fraction is
 * ≥ 0.5), so results match numpy to the last bit.
 */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) throw new Error('percentile: no values');
  if (!(p >= 0 && p <= 100)) throw new Error(`percentile: p is ${p}, expected a number in [0, 100]`);
  const sorted = Float64Array.from(values).sort();
  const position = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, sorted.length - 1);
  const t = position - lower;
  const a = sorted[lower];
  const b = sorted[upper];
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}
