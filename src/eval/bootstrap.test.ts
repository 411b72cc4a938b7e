import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapMetrics } from './bootstrap.ts';
import { computeAllMetrics } from './compute-all-metrics.ts';
import { METRIC_NAMES } from './metric-names.ts';
import { createRng } from './rng.ts';

/** A scripted generator: each value u = (index + 0.5) / n draws exactly `index`. */
function scripted(indices: number[], n: number): () => number {
  let k = 0;
  return () => {
    if (k >= indices.length) throw new Error('scripted rng exhausted');
    return (indices[k++] + 0.5) / n;
  };
}

/** A noisy but informative synthetic test set: P(label = 1) rises with the score. */
function syntheticTestSet(n: number, seed: number): { labels: number[]; scores: number[] } {
  const rng = createRng(seed);
  const scores = Array.from({ length: n }, () => rng());
  const labels = scores.map((s) => (rng() < 0.25 + 0.5 * s ? 1 : 0));
  return { labels, scores };
}

test('bootstrap by hand with scripted resamples, including one with a single class', () => {
  const labels = [1, 0, 1, 0];
  const scores = [0.9, 0.1, 0.4, 0.6];
  // Resample 1 = the full set; 2 = rows 0,0,1,1 (perfectly separated); 3 = row 0 four times (positives only).
  const rng = scripted([0, 1, 2, 3, 0, 0, 1, 1, 0, 0, 0, 0], 4);
  const result = bootstrapMetrics(labels, scores, { resamples: 3, fraction: 1, rng });

  // Full set: predictions 1,0,0,1 -> tp 1 fp 1 fn 1 tn 1; 3 of 4 pairs ordered; AP = .5·1 + .5·(2/3).
  assert.equal(result.rocAuc.point, 0.75);
  assert.equal(result.f1.point, 0.5);
  assert.ok(Math.abs((result.prAuc.point ?? NaN) - 5 / 6) < 1e-15);
  assert.ok(Math.abs((result.brier.point ?? NaN) - 0.185) < 1e-15);

  // ROC-AUC: 0.75 and 1 from resamples 1 and 2; resample 3 has no negative and is skipped and counted.
  assert.deepEqual(result.rocAuc, {
    point: 0.75,
    mean: 0.875,
    std: 0.125,
    ci95: [0.75625, 0.99375],
    definedResamples: 2,
    undefinedResamples: 1,
  });
  // F1: 0.5, 1, 1 (resample 3 is all positive and all predicted positive).
  assert.ok(Math.abs((result.f1.mean ?? NaN) - 5 / 6) < 1e-15);
  assert.ok(Math.abs((result.f1.std ?? NaN) - Math.sqrt(1 / 18)) < 1e-15);
  assert.equal(result.f1.undefinedResamples, 0);
  assert.equal(result.prAuc.definedResamples, 3);
  assert.equal(result.accuracy.ci95?.[1], 1);
});

test('bootstrap draws round(fraction · n) rows per resample', () => {
  let calls = 0;
  const base = createRng(1);
  const counting = () => {
    calls++;
    return base();
  };
  bootstrapMetrics([1, 0, 1, 0, 1], [0.9, 0.2, 0.6, 0.4, 0.7], { resamples: 2, fraction: 0.8, rng: counting });
  assert.equal(calls, 2 * 4);
  calls = 0;
  bootstrapMetrics([1, 0, 1, 0, 1, 0, 1], [0.9, 0.2, 0.6, 0.4, 0.7, 0.1, 0.8], { resamples: 3, fraction: 0.5, rng: counting });
  assert.equal(calls, 3 * 4); // round(3.5) = 4
});

test('bootstrap is deterministic for a seed, differs across seeds, and defaults to seed 2023', () => {
  const { labels, scores } = syntheticTestSet(300, 11);
  const a = bootstrapMetrics(labels, scores, { seed: 5 });
  const b = bootstrapMetrics(labels, scores, { seed: 5 });
  const c = bootstrapMetrics(labels, scores, { seed: 6 });
  assert.deepEqual(a, b);
  assert.notEqual(a.rocAuc.mean, c.rocAuc.mean);
  assert.notEqual(a.f1.mean, c.f1.mean);
  // Points do not depend on the resamples.
  for (const name of METRIC_NAMES) assert.equal(a[name].point, c[name].point);
  assert.deepEqual(bootstrapMetrics(labels, scores), bootstrapMetrics(labels, scores, { seed: 2023 }));
});

test('bootstrap summaries are consistent: CI contains the mean, std > 0, points equal computeAllMetrics', () => {
  const { labels, scores } = syntheticTestSet(400, 3);
  const result = bootstrapMetrics(labels, scores, { resamples: 30, seed: 9 });
  const point = computeAllMetrics(labels, scores);
  for (const name of METRIC_NAMES) {
    const s = result[name];
    assert.equal(s.point, point[name]);
    assert.equal(s.definedResamples, 30);
    assert.ok(s.mean !== null && s.std !== null && s.ci95 !== null);
    assert.ok(s.ci95[0] <= s.mean && s.mean <= s.ci95[1], `${name}: mean ${s.mean} outside ${s.ci95}`);
    assert.ok(s.std > 0, `${name}: std ${s.std}`);
    // An informative model: the resampled mean stays near the full-set value.
    assert.ok(Math.abs(s.mean - (s.point ?? NaN)) < 4 * s.std + 1e-9, `${name}: mean far from point`);
  }
  assert.ok((result.rocAuc.point ?? 0) > 0.6, 'the synthetic scores carry signal');
});

test('bootstrap skips and counts resamples that draw no positive', () => {
  const labels = new Array(20).fill(0);
  labels[7] = 1;
  const scores = labels.map((y, i) => (y === 1 ? 0.8 : i / 40));
  const result = bootstrapMetrics(labels, scores, { resamples: 50, seed: 1 });
  // P(no positive in 16 draws) = 0.95^16 ≈ 0.44, so about 22 of 50 resamples lack one.
  assert.ok(result.rocAuc.undefinedResamples > 5 && result.rocAuc.undefinedResamples < 45);
  assert.equal(result.prAuc.undefinedResamples, result.rocAuc.undefinedResamples);
  assert.equal(result.rocAuc.definedResamples + result.rocAuc.undefinedResamples, 50);
  assert.equal(result.f1.undefinedResamples, 0);
  // Every resample with a positive ranks it first: ROC-AUC and AP are 1 there.
  assert.equal(result.rocAuc.mean, 1);
  assert.equal(result.prAuc.mean, 1);
});

test('bootstrap with a single-class test set reports null point and summaries for ROC-AUC', () => {
  const result = bootstrapMetrics([1, 1, 1], [0.2, 0.6, 0.9], { resamples: 4, seed: 1 });
  assert.deepEqual(result.rocAuc, {
    point: null,
    mean: null,
    std: null,
    ci95: null,
    definedResamples: 0,
    undefinedResamples: 4,
  });
  assert.equal(result.prAuc.point, 1);
});

test('bootstrap rejects bad options and inputs with clear messages', () => {
  const labels = [1, 0, 1, 0];
  const scores = [0.9, 0.1, 0.4, 0.6];
  assert.throws(() => bootstrapMetrics(labels, scores, { resamples: 0 }), /resamples is 0, expected a positive integer/);
  assert.throws(() => bootstrapMetrics(labels, scores, { fraction: 1.5 }), /fraction is 1\.5, expected a number in \(0, 1\]/);
  assert.throws(() => bootstrapMetrics(labels, scores, { fraction: 0.1 }), /leaves an empty resample/);
  assert.throws(() => bootstrapMetrics(labels, scores, { seed: 0.5 }), /seed is 0\.5/);
  assert.throws(() => bootstrapMetrics(labels, scores, { threshold: Number.NaN }), /threshold is NaN/);
  assert.throws(() => bootstrapMetrics(labels, scores, { rng: () => 1 }), /rng returned 1, expected a number in \[0, 1\)/);
  assert.throws(() => bootstrapMetrics(labels, [0.9, 0.1, 1.4, 0.6]), /scores\[2\] is 1\.4, expected a probability in \[0, 1\]/);
  assert.throws(() => bootstrapMetrics(labels, [0.9, 0.1]), /differ in length \(4 labels, 2 scores\)/);
});
