import { computeAllMetrics } from './compute-all-metrics.ts';
import { METRIC_NAMES, type MetricName, type MetricValues } from './metric-names.ts';
import { createRng } from './rng.ts';
import { mean } from './stats/mean.ts';
import { percentile } from './stats/percentile.ts';
import { populationStd } from './stats/population-std.ts';

// Callers that import the protocol from here get the baseline it must be printed with as well.
export { allPositiveReference, type AllPositiveReference } from './all-positive-reference.ts';

export interface BootstrapOptions {
  /** Number of resamples; MEXA-CTP's protocol uses 10. */
  resamples?: number;
  /** Resample size as a fraction of the test set, in (0, 1]; MEXA-CTP uses 0.8. */
  fraction?: number;
  /** Seed of the built-in generator; MEXA-CTP's default is 2023. Ignored when `rng` is given. */
  seed?: number;
  /** Decision threshold of F1, precision, recall and accuracy ("positive iff p >= threshold"). */
  threshold?: number;
  /** Number of equal-width bins of the expected calibration error. */
  eceBins?: number;
  /** A generator of doubles in [0, 1) to use instead of the seeded one (e.g. to script resamples in tests). */
  rng?: () => number;
}

export interface MetricSummary {
  /** The metric on the full test set; null if undefined there (e.g. ROC-AUC with one class). */
  point: number | null;
  /** Mean over the resamples where the metric is defined; null if it is defined in none. */
  mean: number | null;
  /** Population standard deviation (ddof=0, numpy's np.std default, as HINT and MEXA-CTP report). */
  std: number | null;
  /** 2.5th and 97.5th percentiles of the resample values (numpy's linear interpolation). */
  ci95: [number, number] | null;
  /** Resamples that entered mean, std and ci95. */
  definedResamples: number;
  /** Resamples skipped because the metric is undefined on them (only one class drawn). */
  undefinedResamples: number;
}

export type BootstrapMetrics = Record<MetricName, MetricSummary>;

/**
 * The TOP benchmark's test-set bootstrap (MEXA-CTP's protocol, which CLaDMoP's "±" values very likely
 * come from): draw `resamples` samples of `round(fraction · n)` rows WITH replacement, compute every metric
 * on each, and report mean ± population std — plus a 95% percentile interval, which the papers omit.
 *
 * Draw order, so that a seed reproduces a run exactly: resample after resample, each index as
 * `floor(rng() · n)`. The spread describes test-set sampling only, not training seeds.
 *
 * A resample may draw a single class; the metrics undefined there (ROC-AUC, and PR-AUC without positives)
 * are skipped for that resample and counted in `undefinedResamples`, rather than entering as 0.5 or 0.
 * The resample itself is kept, so the other metrics still use every draw.
 *
 * @param labels 0/1 outcomes of the test set
 * @param probabilities predicted success probabilities in [0, 1], aligned with `labels`
 */
export function bootstrapMetrics(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  options: BootstrapOptions = {},
): BootstrapMetrics {
  const resamples = options.resamples ?? 10;
  const fraction = options.fraction ?? 0.8;
  const threshold = options.threshold ?? 0.5;
  const eceBins = options.eceBins ?? 10;
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new Error(`Bootstrap: resamples is ${resamples}, expected a positive integer`);
  }
  if (!(fraction > 0 && fraction <= 1)) {
    throw new Error(`Bootstrap: fraction is ${fraction}, expected a number in (0, 1]`);
  }
  // Validates labels and probabilities once, with messages that point at the offending row.
  const point = computeAllMetrics(labels, probabilities, threshold, eceBins);
  const n = labels.length;
  const sampleSize = Math.round(fraction * n);
  if (sampleSize < 1) {
    throw new Error(`Bootstrap: a fraction of ${fraction} of ${n} rows leaves an empty resample`);
  }
  const rng = options.rng ?? createRng(options.seed ?? 2023);

  const values: Record<MetricName, number[]> = Object.fromEntries(
    METRIC_NAMES.map((name) => [name, [] as number[]]),
  ) as Record<MetricName, number[]>;
  const sampleLabels = new Float64Array(sampleSize);
  const sampleProbabilities = new Float64Array(sampleSize);
  for (let r = 0; r < resamples; r++) {
    for (let k = 0; k < sampleSize; k++) {
      const u = rng();
      if (!(u >= 0 && u < 1)) throw new Error(`Bootstrap: rng returned ${u}, expected a number in [0, 1)`);
      const index = Math.floor(u * n);
      sampleLabels[k] = labels[index];
      sampleProbabilities[k] = probabilities[index];
    }
    const sample: MetricValues = computeAllMetrics(sampleLabels, sampleProbabilities, threshold, eceBins);
    for (const name of METRIC_NAMES) {
      const v = sample[name];
      if (v !== null) values[name].push(v);
    }
  }

  const out = {} as BootstrapMetrics;
  for (const name of METRIC_NAMES) {
    const defined = values[name];
    out[name] = {
      point: point[name],
      mean: defined.length > 0 ? mean(defined) : null,
      std: defined.length > 0 ? populationStd(defined) : null,
      ci95: defined.length > 0 ? [percentile(defined, 2.5), percentile(defined, 97.5)] : null,
      definedResamples: defined.length,
      undefinedResamples: resamples - defined.length,
    };
  }
  return out;
}
