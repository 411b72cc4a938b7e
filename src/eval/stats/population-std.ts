import { mean } from './mean.ts';

/**
 * Population standard deviation `sqrt(mean((x − mean(x))²))`, i.e. numpy's `np.std` with its default
 * ddof=0. HINT and MEXA-CTP report bootstrap spreads with `np.std`, so the project's "±" values must use
 * the same divisor (n, not n − 1) to be comparable; with 10 resamples the two differ by about 5%.
 */
export function populationStd(values: ArrayLike<number>): number {
  const m = mean(values);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const d = values[i] - m;
    sum += d * d;
  }
  return Math.sqrt(sum / values.length);
}
