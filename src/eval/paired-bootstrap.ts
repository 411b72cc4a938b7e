/**
 * Paired bootstrap of a difference between two models scored on the same rows: each resample draws n rows with
 * replacement (the same rows for both models) and records metric(A) − metric(B). The 95% interval is the 2.5th
 * and 97.5th percentiles of those differences; an interval that excludes 0 says the difference is not noise of
 * this test set. Used for "CLaDMoP − best baseline" in every report.
 */
import { averagePrecision } from './metrics/average-precision.ts';
import { rocAuc } from './metrics/roc-auc.ts';
import { createRng } from './rng.ts';
import { percentile } from './stats/percentile.ts';

export interface PairedDifference {
  /** metric(A) − metric(B) on all rows. */
  point: number;
  ci95: [number, number];
  /** Share of resamples where A scored higher than B. */
  shareAHigher: number;
  resamples: number;
}

export interface PairedBootstrap {
  prAuc: PairedDifference;
  rocAuc: PairedDifference;
}

export interface PairedBootstrapOptions {
  /** Number of resamples (default 2,000). */
  resamples?: number;
  /** Seed of the resampling stream (default 2023); ignored when `rng` is given. */
  seed?: number;
  rng?: () => number;
}

/** Paired bootstrap of PR-AUC and ROC-AUC differences of probabilities `a` and `b` on the same labels. */
export function pairedBootstrap(labels: ArrayLike<number>, a: ArrayLike<number>, b: ArrayLike<number>, o: PairedBootstrapOptions = {}): PairedBootstrap {
  const n = labels.length;
  if (a.length !== n || b.length !== n) throw new Error(`pairedBootstrap: ${n} labels, ${a.length} and ${b.length} predictions`);
  const positives = Array.from(labels).reduce((s, y) => s + y, 0);
  if (positives === 0 || positives === n) throw new Error('pairedBootstrap: labels need both classes');
  const resamples = o.resamples ?? 2000;
  const rng = o.rng ?? createRng(o.seed ?? 2023);
  const diffs = { prAuc: [] as number[], rocAuc: [] as number[] };
  const y = new Float64Array(n);
  const pa = new Float64Array(n);
  const pb = new Float64Array(n);
  while (diffs.prAuc.length < resamples) {
    let pos = 0;
    for (let i = 0; i < n; i++) {
      const j = Math.floor(rng() * n);
      y[i] = labels[j];
      pa[i] = a[j];
      pb[i] = b[j];
      pos += y[i];
    }
    // A resample with one class has no AUC; draw again (it does not happen at test-set sizes).
    if (pos === 0 || pos === n) continue;
    diffs.prAuc.push(averagePrecision(y, pa) - averagePrecision(y, pb));
    diffs.rocAuc.push(rocAuc(y, pa) - rocAuc(y, pb));
  }
  const summary = (d: number[], point: number): PairedDifference => ({
    point,
    ci95: [percentile(d, 2.5), percentile(d, 97.5)],
    shareAHigher: d.filter((x) => x > 0).length / d.length,
    resamples,
  });
  return {
    prAuc: summary(diffs.prAuc, averagePrecision(labels, a) - averagePrecision(labels, b)),
    rocAuc: summary(diffs.rocAuc, rocAuc(labels, a) - rocAuc(labels, b)),
  };
}
