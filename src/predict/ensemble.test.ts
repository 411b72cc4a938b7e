// Schema-2 bundles: an ensemble of members on one base, and the [ours] lexical level, through loadModel/predict/explain.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { resolveDataDir } from '../data/splits.ts';
import type { LabelledTrial, Trial } from '../data/trial.ts';
import { LexicalModel } from '../model/lexical.ts';
import { loadModel, type Model } from './model.ts';
import { predict } from './predict.ts';
import { explain } from './explain.ts';
import { FakeEncoder, TINY_ICD_VOCABULARY, writeTinyBundle } from './testing/fixtures.ts';
import { saveForestBundle, saveLexicalBundle } from '../model/bundle.ts';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { writeFakeTop } from '../baselines/testing/fake-top.ts';
import { runBaseline } from '../baselines/run-baseline.ts';
import type { RandomForestModel } from '../baselines/random-forest.ts';
import { loadSplit } from '../data/splits.ts';
import { DEFAULT_TRIAL_TOKEN_OPTIONS } from '../features/tfidf.ts';
import { readSafetensors, writeSafetensors } from '../runtime/safetensors.ts';
import os from 'node:os';

const dataDir = resolveDataDir();
const encoder = new FakeEncoder();
const trial = (nctid: string, criteria: string, drugs: string[]): Trial => ({ nctid, phase: 'phase 1', diseases: ['lung cancer'], icdcodes: [['C34.90']], drugs, smiles: [], criteria });
const inc = (xs: string[]) => `Inclusion Criteria:\n\n${xs.map((x) => `- ${x}`).join('\n')}\n\nExclusion Criteria:\n\n- pregnant`;
// A lexical level that learned "responsive" and "goodmab" mean success, "refractory" failure.
const learn: LabelledTrial[] = Array.from({ length: 40 }, (_, i) => {
  const label = (i % 2) as 0 | 1;
  return { label, trial: trial(`NCT${String(i).padStart(8, '0')}`, inc([label ? 'responsive tumour' : 'refractory tumour', 'adults']), [label ? 'goodmab' : 'badnib']) };
});
const lexical = LexicalModel.fit(learn, 10);

const dirs: string[] = [];
let single: Model[];
let ensemble: Model;
before(async () => {
  // Two one-member bundles (seeds 7 and 8) and the two-member bundle of the same members with the lexical level.
  const a = await writeTinyBundle({ encoder, seed: 7 });
  const b = await writeTinyBundle({ encoder, seed: 7, members: 2 });
  const e = await writeTinyBundle({ encoder, seed: 7, members: 2, lexical: lexical.state });
  dirs.push(a.dir, b.dir, e.dir);
  single = [await loadModel(a.dir, { encoder, dataDir }), await loadModel(b.dir, { encoder, dataDir })];
  ensemble = await loadModel(e.dir, { encoder, dataDir });
});
after(() => {
  for (const m of [...single, ensemble]) m.dispose();
  for (const d of dirs) rmSync(path.dirname(d), { recursive: true, force: true });
});

const logit = (p: number) => Math.log(p / (1 - p));
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

test('the ensemble bundle stores the base once and lists its members and lexical file', () => {
  const config = JSON.parse(readFileSync(path.join(dirs[2], 'config.json'), 'utf8'));
  assert.equal(config.schemaVersion, 2);
  assert.deepEqual(config.members.map((m: { seed: number }) => m.seed), [7, 8]);
  assert.equal(config.lexical.file, 'lexical.json');
  assert.ok(config.files['lexical.json'].sha256);
  assert.equal(ensemble.info.members, 2);
  assert.equal(ensemble.info.lexical, true);
  // One member's weights + one more adapter set and head: far from two full copies.
  const one = readFileSync(path.join(dirs[0], 'weights.safetensors')).length;
  const two = readFileSync(path.join(dirs[2], 'weights.safetensors')).length;
  assert.ok(two < 1.6 * one, `${two} vs ${one}`);
});

test('the ensemble probability is the mean over members of sigmoid(member logit + lexical logit)', async () => {
  const trials = [trial('NCT09990001', inc(['responsive tumour', 'adults']), ['goodmab']), trial('NCT09990002', inc(['refractory tumour']), ['badnib', 'metformin'])];
  const [p0, p1, pe] = await Promise.all([predict(single[0], trials), predict(single[1], trials), predict(ensemble, trials)]);
  const z = lexical.logits(trials);
  // single[1] is the 2-member bundle without the lexical level: its members are seeds 7 and 8; member 7 is single[0].
  trials.forEach((_, i) => {
    const m0 = p0[i].rawProbability!;
    // mean(sigmoid(l7), sigmoid(l8)) = p1  =>  sigmoid(l8) = 2 p1 - m0
    const m1 = 2 * p1[i].rawProbability! - m0;
    const expected = (sigmoid(logit(m0) + z[i]) + sigmoid(logit(m1) + z[i])) / 2;
    assert.ok(Math.abs(pe[i].rawProbability! - expected) < 1e-5, `${pe[i].rawProbability} vs ${expected}`);
    assert.ok(Math.abs(pe[i].inputs.lexical!.logit - z[i]) < 1e-12);
  });
  assert.ok(pe[0].rawProbability! > pe[1].rawProbability!, 'the lexical level moves the planted trials apart');
  assert.ok(pe[0].inputs.lexical!.terms.some((t) => t.term === 'drug:goodmab' && t.contribution > 0));
});

test('explain: a statement with a success word has a positive delta, a failure word a negative one (lexical level)', async () => {
  const t = trial('NCT09990003', inc(['responsive tumour', 'refractory tumour', 'adults']), ['goodmab']);
  const e = await explain(ensemble, t);
  const delta = (text: string) => e.statements.find((s) => s.text === text)!.delta;
  assert.ok(delta('responsive tumour') > 0, String(delta('responsive tumour')));
  assert.ok(delta('refractory tumour') < 0, String(delta('refractory tumour')));
  assert.ok(e.drugs.find((d) => d.name === 'goodmab')!.delta > 0);
});

test('the TF-IDF + LR baseline saved as a bundle predicts sigmoid(lexical logit) and explains by its words', async () => {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'cladmop-lr-bundle-')), 'model');
  dirs.push(dir);
  saveLexicalBundle({
    dir,
    lexical: lexical.state,
    icdVocabulary: TINY_ICD_VOCABULARY,
    config: { encoder: { spec: 'fake', id: encoder.id, name: encoder.name }, phase: 'I', dmFeatures: { moleculeSource: 'top', nameBuckets: 64 }, maxCriteria: 64, training: {}, metrics: {}, codeVersion: 'test' },
  });
  const lr = await loadModel(dir, { encoder, dataDir });
  try {
    assert.equal(lr.info.kind, 'tfidf-lr');
    assert.equal(lr.info.members, 0);
    const t = trial('NCT09990004', inc(['responsive tumour', 'refractory tumour']), ['goodmab']);
    const [p] = await predict(lr, [t]);
    assert.equal(p.rawProbability, sigmoid(lexical.logits([t])[0]));
    const e = await explain(lr, t);
    assert.ok(e.statements.find((s) => s.text === 'responsive tumour')!.delta > 0);
  } finally {
    lr.dispose();
  }
});

test('a criteria-only deep part ignores drugs and diseases (without a lexical level, they change nothing)', async () => {
  const { dir } = await writeTinyBundle({ encoder, seed: 7, members: 2, deepInputs: 'criteria' });
  dirs.push(dir);
  const m = await loadModel(dir, { encoder, dataDir });
  try {
    const a = trial('NCT09990005', inc(['responsive tumour']), ['goodmab', 'metformin']);
    const b = { ...a, drugs: [], diseases: [], icdcodes: [] };
    const [pa, pb] = await predict(m, [a, b]);
    assert.equal(pa.rawProbability, pb.rawProbability);
    const [pAll] = await predict(single[1], [a]);
    assert.notEqual(pa.rawProbability, pAll.rawProbability, 'the same members reading all inputs differ');
  } finally {
    m.dispose();
  }
});

test('the TF-IDF + random-forest baseline saved as a bundle predicts exactly its fitted probabilities (float64 thresholds kept)', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'cladmop-rf-bundle-'));
  dirs.push(path.join(root, 'x'));
  const data = path.join(root, 'top');
  mkdirSync(data);
  writeFakeTop(data, 17);
  const run = await runBaseline({ phase: 'I', model: 'forest', dataDir: data, outDir: path.join(root, 'run'), grid: [{ nEstimators: 25, maxFeatures: 'sqrt', minSamplesLeaf: 1 }] });
  const dir = path.join(root, 'model');
  saveForestBundle({
    dir,
    forest: run.final.fitted.model as RandomForestModel,
    text: { tokens: { ...DEFAULT_TRIAL_TOKEN_OPTIONS, ...run.final.tokens }, tfidf: run.final.tfidf },
    icdVocabulary: TINY_ICD_VOCABULARY,
    config: { encoder: { spec: 'fake', id: encoder.id, name: encoder.name }, phase: 'I', dmFeatures: { moleculeSource: 'top', nameBuckets: 64 }, maxCriteria: 64, training: {}, metrics: {}, codeVersion: 'test' },
  });
  const rf = await loadModel(dir, { encoder, dataDir });
  try {
    assert.equal(rf.info.kind, 'tfidf-rf');
    const rows = loadSplit('I', 'test', data).rows;
    const out = await predict(rf, rows.map((r) => r.trial));
    out.forEach((p, k) => assert.ok(Math.abs(p.rawProbability! - run.probabilities[k]) < 1e-9, `${p.nctid}: ${p.rawProbability} vs ${run.probabilities[k]}`));
    const e = await explain(rf, rows[0].trial);
    assert.equal(e.statements.length, 3);
  } finally {
    rf.dispose();
  }
  // A tampered tree (a child pointing back up) is refused, not followed.
  const f = path.join(dir, 'forest.safetensors');
  const { tensors, metadata } = readSafetensors(f);
  const left = tensors.left.data as Int32Array;
  const internal = left.findIndex((x) => x !== -1);
  left[internal] = 0;
  writeSafetensors(f, tensors, metadata);
  const bytes = readFileSync(f);
  const cfgFile = path.join(dir, 'config.json');
  const cfg = JSON.parse(readFileSync(cfgFile, 'utf8'));
  cfg.files['forest.safetensors'] = { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
  writeFileSync(cfgFile, JSON.stringify(cfg));
  await assert.rejects(loadModel(dir, { encoder, dataDir }), /points outside the tree/);
});
