/** Arithmetic mean; throws on an empty input rather than returning NaN into a report. */
export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) throw new Error('mean: no values');
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}
