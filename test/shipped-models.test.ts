// What is shipped is what is reported: each default model in models/phase-* is the ensemble whose test predictions
// are committed in results/phase_*/, the README tables quote exactly those numbers, and the bundle reproduces
// committed predictions through `predict`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadSplit, resolveDataDir } from '../src/data/splits.ts';
import { PACKAGE_ROOT as REPO_ROOT } from '../src/settings.ts';
import { averagePrecision } from '../src/eval/metrics/average-precision.ts';
import { f1Score } from '../src/eval/metrics/f1-score.ts';
import { rocAuc } from '../src/eval/metrics/roc-auc.ts';
import { loadModel } from '../src/predict/model.ts';
import { predict } from '../src/predict/predict.ts';

const PHASES = ['I', 'II', 'III'] as const;
const readPredictions = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => {
      const [nctid, p, y] = l.split(',');
      return { nctid, p: Number(p), y: Number(y) };
    });
const f3 = (x: number) => x.toFixed(3).replace(/^0\./, '.');

for (const phase of PHASES) {
  const bundle = path.join(REPO_ROOT, 'models', `phase-${phase}`);
  const run = path.join(REPO_ROOT, 'results', `phase_${phase}`);

  test(`phase ${phase}: the shipped model's test metrics are those of the committed predictions and of the README`, () => {
    const config = JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8'));
    const metrics = JSON.parse(readFileSync(path.join(run, 'metrics.json'), 'utf8'));
    const rows = readPredictions(path.join(run, 'predictions_test.csv'));
    const y = rows.map((r) => r.y);
    const p = rows.map((r) => r.p);
    const computed = { f1: f1Score(y, p), prAuc: averagePrecision(y, p), rocAuc: rocAuc(y, p) };
    assert.deepEqual(config.metrics.test, computed);
    assert.equal(metrics.test.point.prAuc, computed.prAuc);
    assert.equal(metrics.test.point.rocAuc, computed.rocAuc);
    assert.equal(config.members.length, metrics.phases?.[0]?.perSeed?.length ?? config.members.length);
    assert.equal(config.training.pretrainKey, metrics.pretraining.cacheKey, 'the bundle comes from this run');
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8') + readFileSync(path.join(REPO_ROOT, 'results/README.md'), 'utf8');
    const quoted = `${f3(computed.f1)} / ${f3(computed.prAuc)} / ${f3(computed.rocAuc)}`;
    assert.ok(readme.includes(quoted), `README or results/README.md quotes phase ${phase} as ${quoted}`);
  });

  test(`phase ${phase}: the shipped bundle reproduces committed test predictions through predict`, async () => {
    const dataDir = resolveDataDir();
    const rows = readPredictions(path.join(run, 'predictions_test.csv'));
    const byId = new Map(loadSplit(phase, 'test', dataDir).rows.map((r) => [r.trial.nctid, r.trial]));
    const sample = rows.filter((_, i) => i % Math.ceil(rows.length / 6) === 0).filter((r) => byId.has(r.nctid));
    assert.ok(sample.length >= 4);
    const model = await loadModel(bundle, { dataDir });
    try {
      const out = await predict(model, sample.map((r) => byId.get(r.nctid)!));
      sample.forEach((r, i) => assert.ok(Math.abs(out[i].rawProbability! - r.p) < 1e-4, `${r.nctid}: predict ${out[i].rawProbability} vs committed ${r.p}`));
    } finally {
      model.dispose();
    }
  });
}
