import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { writeFakeTop } from './testing/fake-top.ts';
import { computeAllMetrics } from '../eval/compute-all-metrics.ts';
import { formatPredictionsCsv, runBaseline, type BaselineProgress } from './run-baseline.ts';

test('runBaseline writes predictions and metrics that agree exactly, deterministically, without leftovers', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'cladmop-baseline-'));
  try {
    const dataDir = path.join(root, 'data');
    mkdirSync(dataDir);
    writeFakeTop(dataDir, 17);
    const stages = new Set<BaselineProgress['stage']>();
    const common = {
      phase: 'I' as const,
      dataDir,
      seed: 5,
      features: { tfidf: { minDf: 1 } },
      bootstrapResamples: 5,
    };
    const lr = await runBaseline({
      ...common,
      model: 'lr',
      outDir: path.join(root, 'lr'),
      grid: [{ C: 0.1 }, { C: 10 }],
      onProgress: (p) => stages.add(p.stage),
    });
    assert.deepEqual([...stages].sort(), ['cv', 'load', 'predict', 'refit', 'write']);

    // Metrics recomputed from the CSV equal metrics.json exactly (probabilities round-trip).
    const csv = parse(readFileSync(lr.predictionsPath, 'utf8'), { columns: true }) as Array<Record<string, string>>;
    assert.equal(csv.length, 60);
    const probs = csv.map((r) => Number(r.probability));
    const labels = csv.map((r) => Number(r.label));
    const json = JSON.parse(readFileSync(lr.metricsPath, 'utf8'));
    assert.deepEqual(computeAllMetrics(labels, probs), json.test.point);
    assert.deepEqual(probs, [...lr.probabilities]);

    // The signal is learnable, the C grid was searched by CV, facts of the splits are recorded.
    assert.ok(json.test.point.rocAuc > 0.7, `ROC-AUC ${json.test.point.rocAuc}`);
    assert.equal(json.selection.candidates.length, 2);
    assert.equal(json.selection.folds, 5);
    assert.deepEqual(json.splits.test.rows, 60);
    assert.equal(json.splits.train.partial, false);
    assert.equal(json.learnRows.rows, 120);
    assert.equal(json.test.allPositive.n, 60);
    assert.equal(json.test.bootstrap.metrics.f1.definedResamples, 5);
    assert.ok(readdirSync(path.join(root, 'lr')).every((f) => !f.includes('.tmp-')), 'temporary file left behind');

    const forestA = await runBaseline({
      ...common,
      model: 'forest',
      outDir: path.join(root, 'fa'),
      grid: [
        { nEstimators: 15, maxFeatures: 'sqrt', minSamplesLeaf: 1 },
        { nEstimators: 15, maxFeatures: 'log2', minSamplesLeaf: 3 },
      ],
    });
    const forestB = await runBaseline({ ...common, model: 'forest', outDir: path.join(root, 'fb'), grid: forestA.metrics.selection.candidates.map((c) => c.params) });
    assert.equal(readFileSync(forestA.predictionsPath, 'utf8'), readFileSync(forestB.predictionsPath, 'utf8'));
    assert.deepEqual(forestA.metrics.selection, forestB.metrics.selection);
    assert.ok(forestA.metrics.test.point.rocAuc! > 0.7, `forest ROC-AUC ${forestA.metrics.test.point.rocAuc}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('predictions CSV prints probabilities that parse back to the same doubles', () => {
  const p = [0.1 + 0.2, 1 / 3, 1e-17, 0.9999999999999999, 0];
  const text = formatPredictionsCsv(['NCT1', 'NCT2', 'NCT3', 'NCT4', 'a,b'], p, [1, 0, 1, 0, 1]);
  const rows = parse(text, { columns: true }) as Array<Record<string, string>>;
  assert.deepEqual(rows.map((r) => Number(r.probability)), p);
  assert.equal(rows[4].nctid, 'a,b');
});
