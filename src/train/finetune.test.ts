import { test } from 'node:test';
import assert from 'node:assert/strict';
import { init, numpy as np, tree } from '@jax-js/jax';
import { averagePrecision } from '../eval/metrics/average-precision.ts';
import { createRng } from '../eval/rng.ts';
import { MOLECULE_INPUT, type DmFeatures } from '../features/dm-features.ts';
import type { EncodedCriteria } from '../features/criteria-encoder.ts';
import { initCladmop, type CladmopConfig } from '../model/cladmop.ts';
import { treeToTensors } from '../runtime/param-tree.ts';
import { finetune, predictProbabilities, type FinetuneOptions } from './finetune.ts';
import type { PreparedTrial } from './prepare.ts';
import { TINY_CLADMOP } from '../model/testing/tiny-config.ts';

await init('wasm');

type Array = np.Array;

// One level only: compiling the training step dominates the run time.
const C: CladmopConfig = { ...TINY_CLADMOP, levels: [2] };

/** Synthetic trials; the label depends on the first criteria feature and the drug n-grams, so it is learnable. */
function makeTrials(n: number, seed: number, prefix: string): PreparedTrial[] {
  const rng = createRng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo));
  return Array.from({ length: n }, (_, k) => {
    const nInc = int(1, 9);
    const nExc = int(2, 6);
    const T = nInc + nExc;
    const label = k % 3 === 0 ? 1 : 0;
    const criteria: EncodedCriteria = {
      levels: [0, 1, 2].map(() => Float32Array.from({ length: T * C.dEncoder }, (_, i) => 2 * rng() - 1 + (i % C.dEncoder === 0 ? label : 0))),
      tokens: Array.from({ length: T }, () => int(1, 100)),
      segments: Uint8Array.from({ length: T }, (_, t) => (t < nInc ? 0 : 1)),
      dim: C.dEncoder,
    };
    const nMol = int(0, 3);
    const molecules = new Float32Array(nMol * MOLECULE_INPUT);
    for (let i = 0; i < molecules.length; i++) molecules[i] = i % MOLECULE_INPUT < 2048 ? (rng() < 0.05 ? 1 : 0) : rng();
    const ids = (count: number, max: number) => Array.from({ length: count }, () => Array.from({ length: int(1, 5) }, () => int(1, max)));
    const dm: DmFeatures = {
      molecules,
      nMolecules: nMol,
      drugNgrams: [[label ? 3 : 5, int(6, C.nameBuckets)], ...ids(int(0, 2), C.nameBuckets)],
      diseaseAncestors: ids(int(0, 3), C.icdVocab),
      report: { invalidSmiles: [], placeboDropped: 0, unknownIcdCodes: [], truncated: [] },
    };
    return { nctid: `${prefix}${String(k).padStart(4, '0')}`, label, input: { criteria, dm } };
  });
}

// 22 training trials in batches of 8: two full batches plus a padded one of the remaining 6 each epoch.
const train = makeTrials(22, 1, 'NCT9');
const valid = makeTrials(10, 3, 'NCT8');
const options = (over: Partial<FinetuneOptions> = {}): FinetuneOptions => ({
  config: C,
  seed: 4,
  mode: 'lora',
  batchSize: 8,
  maxEpochs: 5,
  patience: 2,
  lr: 3e-2,
  weightDecay: 0.01,
  clipNorm: 1,
  maxCriteria: 16,
  ...over,
});

test('finetune (LoRA): deterministic; early stopping returns the weights of the best valid PR-AUC epoch; base stays frozen', async () => {
  const a = await finetune(initCladmop(C, 3), train, valid, options());
  const b = await finetune(initCladmop(C, 3), train, valid, options());
  // (a) Same seed, same run.
  assert.deepEqual(b.history, a.history);
  assert.equal(b.bestEpoch, a.bestEpoch);
  const [pa, pb, la, lb] = await Promise.all([treeToTensors(a.params), treeToTensors(b.params), treeToTensors(a.lora), treeToTensors(b.lora)]);
  for (const name of Object.keys(pa)) assert.deepEqual(pb[name].data, pa[name].data, name);
  for (const name of Object.keys(la)) assert.deepEqual(lb[name].data, la[name].data, name);
  assert.equal(a.posWeight, (22 - 8) / 8);

  // (c) The best epoch is the first with the highest valid PR-AUC, and training stops `patience` epochs later.
  const prAucs = a.history.map((h) => h.validPrAuc);
  const best = Math.max(...prAucs);
  assert.equal(a.bestValidPrAuc, best);
  assert.equal(a.bestEpoch, prAucs.indexOf(best) + 1);
  assert.ok(a.history.length === options().maxEpochs || a.history.length === a.bestEpoch + options().patience, `stopped after ${a.history.length} epochs, best ${a.bestEpoch}`);
  for (const h of a.history) assert.ok(Number.isFinite(h.trainLoss) && h.validRocAuc >= 0 && h.validRocAuc <= 1);
  // The test is only meaningful if training went on past the best epoch (so "last" != "best").
  assert.ok(a.bestEpoch < a.history.length, `best epoch ${a.bestEpoch} of ${a.history.length}: pick a setting where training continues past the best`);
  // The returned weights are the best epoch's: predicting valid again reproduces its PR-AUC.
  const probs = await predictProbabilities(C, tree.ref(a.params), tree.ref(a.lora), valid, options());
  assert.equal(averagePrecision(valid.map((v) => v.label), probs), a.bestValidPrAuc);

  // LoRA mode trains the adapters and the head only: every other weight is the pretrained one.
  const pre = await treeToTensors(initCladmop(C, 3));
  let changedHead = 0;
  for (const name of Object.keys(pre)) {
    if (name.startsWith('head.')) changedHead += pa[name].data.some((v, i) => v !== pre[name].data[i]) ? 1 : 0;
    else assert.deepEqual(pa[name].data, pre[name].data, `${name} must stay frozen`);
  }
  assert.ok(changedHead > 0, 'the head was trained');
  assert.ok(Object.entries(la).some(([name, t]) => name.endsWith('.b') && t.data.some((v) => v !== 0)), 'LoRA B moved from 0');
  // The caller owns exactly one reference to every returned array (no leaked references).
  const counts = (t: unknown) => (tree.leaves(t as never) as Array[]).map((x) => x.refCount);
  assert.ok(counts(a.params).every((n) => n === 1), `params refcounts ${[...new Set(counts(a.params))]}`);
  assert.ok(counts(a.lora).every((n) => n === 1));
  tree.dispose([a.params, a.lora, b.params, b.lora]);
});

// Full fine-tuning compiles the gradient of the whole model (~10 s here): run with CLADMOP_SLOW_TESTS=1.
const slow = process.env.CLADMOP_SLOW_TESTS ? false : 'slow: set CLADMOP_SLOW_TESTS=1';
test('finetune (full): every weight is trained; the returned weights reproduce the best valid PR-AUC', { skip: slow }, async () => {
  const logs: string[] = [];
  const r = await finetune(initCladmop(C, 3), train, valid, options({ mode: 'full', maxEpochs: 2, patience: 1, log: (l) => logs.push(l) }));
  assert.ok(r.history.length >= 1 && r.history.length <= 2);
  assert.equal(logs.length, r.history.length);
  const probs = await predictProbabilities(C, tree.ref(r.params), tree.ref(r.lora), valid, options());
  assert.equal(averagePrecision(valid.map((v) => v.label), probs), r.bestValidPrAuc);
  const [got, pre] = await Promise.all([treeToTensors(r.params), treeToTensors(initCladmop(C, 3))]);
  for (const name of ['grouping.0.layers.0.centroids', 'dmBlocks.0.att.q.w', 'molecule.inProj.w', 'head.l1.w']) {
    assert.ok(got[name].data.some((v, i) => v !== pre[name].data[i]), `${name} was trained`);
  }
  tree.dispose([r.params, r.lora]);
});
