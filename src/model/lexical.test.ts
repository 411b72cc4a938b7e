import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFakeTop } from '../baselines/testing/fake-top.ts';
import { runBaseline } from '../baselines/run-baseline.ts';
import { loadSplit } from '../data/splits.ts';
import type { LabelledTrial } from '../data/trial.ts';
import { averagePrecision } from '../eval/metrics/average-precision.ts';
import { fitStackedLexical, LexicalModel } from './lexical.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'cladmop-lexical-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
const dataDir = path.join(root, 'top');
mkdirSync(dataDir);
writeFakeTop(dataDir, 17);
const rows = (split: 'train' | 'valid' | 'test') => loadSplit('I', split, dataDir).rows;
const learn: LabelledTrial[] = [...rows('train'), ...rows('valid')];
const test_ = rows('test');
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

test('on test, the stacked lexical level is the TF-IDF + LR baseline of the same rows (same C, same probabilities)', async () => {
  const stacked = fitStackedLexical(learn);
  const baseline = await runBaseline({ phase: 'I', model: 'lr', dataDir, outDir: path.join(root, 'lr') });
  assert.equal(stacked.C, (baseline.metrics.selection.chosen as { C: number }).C);
  const z = stacked.model.logits(test_.map((r) => r.trial));
  const byId = new Map(baseline.testIds.map((id, i) => [id, baseline.probabilities[i]]));
  test_.forEach((r, i) => assert.ok(Math.abs(sigmoid(z[i]) - byId.get(r.trial.nctid)!) < 1e-9, r.trial.nctid));
});

test('cross-fitted logits are less confident on their rows than the in-sample fit, and still rank', () => {
  const stacked = fitStackedLexical(learn);
  const inSample = stacked.model.logits(learn.map((r) => r.trial));
  const labels = learn.map((r) => r.label);
  const margin = (z: ArrayLike<number>) => Array.from(z).reduce((s, v, i) => s + (labels[i] ? v : -v), 0) / z.length;
  assert.ok(margin(stacked.outOfFold) < margin(inSample), `${margin(stacked.outOfFold)} vs ${margin(inSample)}`);
  assert.ok(averagePrecision(labels, stacked.outOfFold) > 0.7, 'the planted words still rank out of fold');
});

test('state round trip gives the same logits; terms name the planted words with the right signs', () => {
  const model = LexicalModel.fit(learn, 10);
  const again = LexicalModel.fromState(JSON.parse(JSON.stringify(model.state)));
  const trials = test_.map((r) => r.trial);
  assert.deepEqual(again.logits(trials), model.logits(trials));
  const good = trials.find((t) => t.drugs.includes('goodmab') && t.criteria.includes('responsive'))!;
  const terms = model.terms(good, 50);
  const of = (term: string) => terms.find((t) => t.term === term)?.contribution;
  assert.ok(of('drug:goodmab')! > 0 && of('responsive')! > 0, JSON.stringify(terms.slice(0, 5)));
  const bad = trials.find((t) => t.drugs.includes('badnib'))!;
  assert.ok(model.terms(bad, 50).find((t) => t.term === 'drug:badnib')!.contribution < 0);
});

test('a state whose weights do not match its vocabulary, or of another schema, is refused', () => {
  const state = LexicalModel.fit(learn, 1).state;
  assert.throws(() => LexicalModel.fromState({ ...state, weights: state.weights.slice(1) }), /weights for a vocabulary/);
  assert.throws(() => LexicalModel.fromState({ ...state, schemaVersion: 9 }), /schema version 9/);
});
