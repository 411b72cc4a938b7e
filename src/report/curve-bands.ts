/**
 * Bootstrap bands of the ROC and PR curves: the curve is recomputed on each seeded resample, read off at a
 * common grid (TPR at fixed FPR, precision at fixed recall), and the band is the 2.5-97.5 percentile range
 * of those values at each grid point.
 *
 * Resamples are drawn exactly as `bootstrapMetrics` draws them (createRng(seed), index = floor(rng()·n),
 * resample after resample), so with the same seed, count and a fraction of 1 the AUC intervals printed
 * beside a plot come from the very resamples that drew its band.
 */
import { createRng } from '../eval/rng.ts';
import { percentile } from '../eval/stats/percentile.ts';
import { precisionAtRecall, prCurve, rocCurve, tprAtFpr, unitGrid } from './curves.ts';

export interface CurveBandOptions {
  /** Number of resamples (default 200). */
  resamples?: number;
  /** Seed of createRng (default 2023, the project's protocol seed). */
  seed?: number;
  /** Grid points from 0 to 1 inclusive (default 101, a step of 0.01). */
  gridSize?: number;
}

export interface CurveBand {
  /** FPR (ROC) or recall (PR) values. */
  grid: number[];
  /** The curve of the full data at the grid. */
  point: number[];
  lower: number[];
  upper: number[];
  /** Resamples the band is made of; the others drew a single class (ROC) or no positive (PR). */
  definedResamples: number;
}

export interface CurveBands {
  roc: CurveBand;
  pr: CurveBand;
  resamples: number;
  seed: number;
}

function band(grid: number[], point: number[], samples: number[][]): CurveBand {
  const lower: number[] = [];
  const upper: number[] = [];
  for (let g = 0; g < grid.length; g++) {
    if (samples.length === 0) {
      lower.push(Number.NaN);
      upper.push(Number.NaN);
      continue;
    }
    const column = samples.map((s) => s[g]);
    lower.push(percentile(column, 2.5));
    upper.push(percentile(column, 97.5));
  }
  return { grid, point, lower, upper, definedResamples: samples.length };
}

/**
 * ROC and PR curves of the full data with percentile bands from full-size resamples (drawn with
 * replacement, n of n: the band describes test-set sampling at the size the curve was measured on, unlike
 * the protocol's 80% resamples, which widen the spread).
 *
 * @throws Error when the full data has a single class: neither curve exists then.
 */
export function curveBands(labels: ArrayLike<number>, scores: ArrayLike<number>, options: CurveBandOptions = {}): CurveBands {
  const resamples = options.resamples ?? 200;
  const seed = options.seed ?? 2023;
  const grid = unitGrid(options.gridSize ?? 101);
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new Error(`Curve bands: resamples is ${resamples}, expected a positive integer`);
  }
  const rocPoint = tprAtFpr(rocCurve(labels, scores), grid);
  const prPoint = precisionAtRecall(prCurve(labels, scores), grid);

  const n = labels.length;
  const rng = createRng(seed);
  const sampleLabels = new Float64Array(n);
  const sampleScores = new Float64Array(n);
  const rocSamples: number[][] = [];
  const prSamples: number[][] = [];
  for (let r = 0; r < resamples; r++) {
    let positives = 0;
    for (let k = 0; k < n; k++) {
      const index = Math.floor(rng() * n);
      sampleLabels[k] = labels[index];
      sampleScores[k] = scores[index];
      positives += labels[index];
    }
    // Skipped rather than counted as chance: a one-class resample has no curve at all.
    if (positives > 0) prSamples.push(precisionAtRecall(prCurve(sampleLabels, sampleScores), grid));
    if (positives > 0 && positives < n) rocSamples.push(tprAtFpr(rocCurve(sampleLabels, sampleScores), grid));
  }
  return { roc: band(grid, rocPoint, rocSamples), pr: band(grid, prPoint, prSamples), resamples, seed };
}
