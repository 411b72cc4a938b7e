/**
 * Saves the TF-IDF + random-forest baseline of committed runs as model bundles (kind 'tfidf-rf') without
 * re-running `reproduce`: the forest is refitted exactly as the run fitted it (same data, grid, folds and seed:
 * `runBaseline` is deterministic) and refused unless its test predictions equal the run's committed ones.
 * `reproduce` writes the same bundle itself (baseline_forest/model) since 2026-12-08.
 *
 *   node bin/run-ts.mjs scripts/save-forest-bundles.ts [--phases I,II,III]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runBaseline } from '../src/baselines/run-baseline.ts';
import type { RandomForestModel } from '../src/baselines/random-forest.ts';
import { resolveDataDir } from '../src/data/splits.ts';
import type { BenchmarkPhase } from '../src/data/trial.ts';
import { loadEncoder } from '../src/features/encoder-spec.ts';
import { IcdVocabulary } from '../src/features/dm-features.ts';
import { DEFAULT_TRIAL_TOKEN_OPTIONS } from '../src/features/tfidf.ts';
import { saveForestBundle } from '../src/model/bundle.ts';
import { DEFAULT_CLADMOP } from '../src/model/cladmop.ts';
import { PACKAGE_ROOT, VERSION } from '../src/settings.ts';
import { DEFAULT_FINETUNE } from '../src/train/finetune.ts';

const i = process.argv.indexOf('--phases');
const phases = (i > 0 ? process.argv[i + 1] : 'I,II,III').split(',') as BenchmarkPhase[];
const dataDir = resolveDataDir();
const encoder = await loadEncoder('lm');
const icd = IcdVocabulary.fromDataDir(dataDir);
for (const phase of phases) {
  const runDir = path.join(PACKAGE_ROOT, 'results', `phase_${phase}`, 'baseline_forest');
  const committed = new Map(
    readFileSync(path.join(runDir, 'predictions_test.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(','))
      .map(([id, p]) => [id, Number(p)] as const),
  );
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cladmop-forest-'));
  try {
    const run = await runBaseline({ phase, model: 'forest', dataDir, outDir: tmp });
    const worst = Math.max(...run.testIds.map((id, k) => Math.abs(run.probabilities[k] - committed.get(id)!)));
    if (!(worst === 0)) throw new Error(`phase ${phase}: the refitted forest differs from the committed run (largest difference ${worst})`);
    saveForestBundle({
      dir: path.join(runDir, 'model'),
      forest: run.final.fitted.model as RandomForestModel,
      text: { tokens: { ...DEFAULT_TRIAL_TOKEN_OPTIONS, ...run.final.tokens }, tfidf: run.final.tfidf },
      icdVocabulary: icd.entries,
      config: {
        encoder: { spec: 'lm', id: encoder.id, name: encoder.name },
        phase,
        dmFeatures: { moleculeSource: 'top', nameBuckets: DEFAULT_CLADMOP.nameBuckets },
        maxCriteria: DEFAULT_FINETUNE.maxCriteria,
        training: { model: 'TF-IDF + random forest', params: run.metrics.selection.chosen, rows: run.metrics.learnRows.rows, selection: run.metrics.selection.method, quick: false },
        metrics: { test: { f1: run.metrics.test.point.f1, prAuc: run.metrics.test.point.prAuc, rocAuc: run.metrics.test.point.rocAuc } },
        codeVersion: VERSION,
      },
    });
    console.log(`phase ${phase}: ${path.relative(PACKAGE_ROOT, path.join(runDir, 'model'))} (test predictions identical to the committed run)`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
