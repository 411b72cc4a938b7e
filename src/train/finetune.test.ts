import { test } from 'node:test';
import assert from 'node:assert/strict';
import { init, numpy as np, tree } from '@jax-js/jax';
import { averagePrecision } from '../eval/metrics/average-precision.ts';
import { initCladmop, type CladmopConfig } from '../model/cladmop.ts';
import { treeToTensors } from '../runtime/param-tree.ts';
import { finetune, GroupedCriteria, predictProbabilities, type FinetuneOptions } from './finetune.ts';
import { SYNTHETIC_CONFIG, syntheticTrials } from './testing/synthetic-trials.ts';

await init('wasm');

type NpArray = np.Array;

const C: CladmopConfig = SYNTHETIC_CONFIG;

// 22 training trials in batches of 8: two full batches plus a padded one of the remaining 6 each epoch.
const train = syntheticTrials(22, 1, 'NCT9', { learnable: true });
const valid = syntheticTrials(10, 3, 'NCT8', { learnable: true });
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
  const counts = (t: unknown) => (tree.leaves(t as never) as NpArray[]).map((x) => x.refCount);
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

test('GroupedCriteria: seeds sharing one grouping memo train and predict exactly as with their own grouping', async () => {
  const pre = initCladmop(C, 3);
  const memo = new GroupedCriteria(C, pre.grouping);
  // The memo groups each trial once, whatever the batch it first appears in.
  const some = await memo.of(valid.slice(0, 3), options());
  assert.equal(memo.size, 3);
  for (const seed of [4, 5]) {
    const own = await finetune(tree.ref(pre), train, valid, options({ seed }));
    const shared = await finetune(tree.ref(pre), train, valid, options({ seed, grouped: memo }));
    assert.deepEqual(shared.history, own.history);
    const a = await predictProbabilities(C, own.params, own.lora, train, options());
    const b = await predictProbabilities(C, shared.params, shared.lora, train, options(), memo);
    assert.deepEqual(b, a);
  }
  assert.equal(memo.size, train.length + valid.length);
  // Already-grouped trials are returned as stored, not recomputed.
  assert.equal((await memo.of(valid.slice(0, 3), options()))[0], some[0]);
  tree.dispose(pre);
});

test('finetune with lexical offsets: the offset enters the loss and the predictions (a label-revealing offset gives PR-AUC 1)', async () => {
  // Trials whose learnable signal is absent (not learnable) but whose offset is +4 / -4 by label.
  const withOffset = (ts: typeof train) => ts.map((t) => ({ ...t, offset: t.label ? 4 : -4 }));
  const tr = withOffset(syntheticTrials(22, 5, 'NCT7'));
  const va = withOffset(syntheticTrials(10, 6, 'NCT6'));
  const ft = await finetune(initCladmop(C, 3), tr, va, options({ maxEpochs: 2 }));
  assert.equal(ft.bestValidPrAuc, 1);
  const probs = await predictProbabilities(C, tree.ref(ft.params), tree.ref(ft.lora), va, options());
  va.forEach((t, i) => assert.ok(t.label ? probs[i] > 0.9 : probs[i] < 0.1, `${t.nctid}: ${probs[i]}`));
  // Without the offsets the same weights score near chance on these trials: the signal came from the offsets.
  const plain = await predictProbabilities(C, ft.params, ft.lora, va.map((t) => ({ ...t, offset: undefined })), options());
  assert.ok(plain.every((p) => p > 0.1 && p < 0.9));
});
