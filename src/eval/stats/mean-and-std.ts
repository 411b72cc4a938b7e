import { mean } from './mean.ts';
import { populationStd } from './population-std.ts';

/** Mean and population standard deviation (ddof = 0, see populationStd) of a sample: the "mean ± std" of a report. */
export function meanAndStd(values: ArrayLike<number>): { mean: number; std: number } {
  return { mean: mean(values), std: populationStd(values) };
}
