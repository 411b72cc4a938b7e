import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { init, tree } from '@jax-js/jax';
import { createRng } from '../eval/rng.ts';
import { MOLECULE_INPUT, type DmFeatures } from '../features/dm-features.ts';
import type { EncodedCriteria } from '../features/criteria-encoder.ts';
import type { CladmopConfig } from '../model/cladmop.ts';
import { treeToTensors } from '../runtime/param-tree.ts';
import { readSafetensors } from '../runtime/safetensors.ts';
import type { PreparedTrial } from './prepare.ts';
import { epochBatches, pretrain, type PretrainEpoch, type PretrainOptions } from './pretrain.ts';
import { TINY_CLADMOP } from '../model/testing/tiny-config.ts';

await init('wasm');

// One level only: every trainable leaf costs optimiser kernels, and compiling the training step dominates.
const C: CladmopConfig = { ...TINY_CLADMOP, levels: [2] };

/** Synthetic trials: random criteria (3..14 tokens) and DM features, label 1 for every third. */
function makeTrials(n: number, seed: number, prefix: string): PreparedTrial[] {
  const rng = createRng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo));
  return Array.from({ length: n }, (_, k) => {
    const nInc = int(1, 9);
    const nExc = int(2, 6);
    const T = nInc + nExc;
    const criteria: EncodedCriteria = {
      levels: [0, 1, 2].map(() => Float32Array.from({ length: T * C.dEncoder }, () => 2 * rng() - 1)),
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
      drugNgrams: ids(int(1, 3), C.nameBuckets),
      diseaseAncestors: ids(int(0, 3), C.icdVocab),
      report: { invalidSmiles: [], placeboDropped: 0, unknownIcdCodes: [], truncated: [] },
    };
    return { nctid: `${prefix}${String(k).padStart(4, '0')}`, label: k % 3 === 0 ? 1 : 0, input: { criteria, dm } };
  });
}

const train = makeTrials(20, 1, 'NCT9');
const heldOut = makeTrials(8, 2, 'NCT8');
const dir = mkdtempSync(path.join(os.tmpdir(), 'cladmop-pretrain-test-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const options = (over: Partial<PretrainOptions> = {}): PretrainOptions => ({
  config: C,
  seed: 5,
  // 20 trials in batches of 8: two steps per epoch (4 trials left out, a different 4 each epoch).
  batchSize: 8,
  epochs: 2,
  lr: 5e-3,
  warmupSteps: 2,
  weightDecay: 0.01,
  clipNorm: 1,
  maxCriteria: 16,
  checkpoint: null,
  resume: true,
  ...over,
});
/** History without the wall-clock field. */
const timeless = (h: PretrainEpoch[]) => h.map(({ seconds: _, ...rest }) => rest);

test('epochBatches: full batches only, a function of the seed, every trial at most once', () => {
  const a = epochBatches(train, 4, 7);
  assert.equal(a.length, 5);
  assert.ok(a.every((b) => b.length === 4));
  assert.equal(new Set(a.flat()).size, 20);
  assert.deepEqual(epochBatches(train, 4, 7), a);
  assert.notDeepEqual(epochBatches(train, 4, 8), a);
  assert.equal(epochBatches(train.slice(0, 7), 4, 7).length, 1);
  const b = epochBatches(train, 8, 7);
  assert.equal(b.length, 2);
  assert.equal(new Set(b.flat()).size, 16);
  // Inside a batch, trials are sorted by criteria length (less padding).
  for (const batch of b) for (let i = 1; i < batch.length; i++) assert.ok(batch[i - 1].input.criteria.tokens.length <= batch[i].input.criteria.tokens.length);
});

// Determinism is checked by the same runs as resuming (each full pre-training costs seconds): the killed run
// must reproduce the reference run's first epoch exactly, and the resumed run its second epoch and weights.
test('pretrain: same seed -> same history and weights; a killed run resumed from its checkpoint equals an uninterrupted one', async () => {
  const steps: number[] = [];
  const reference = await pretrain(train, heldOut, options({ onStep: (s) => steps.push(s) }));
  assert.deepEqual(steps, [1, 2, 3, 4]);
  assert.equal(reference.history.length, 2);
  for (const e of reference.history) {
    assert.ok(Number.isFinite(e.trainLoss) && e.trainLoss > 0);
    assert.equal(e.heldOut.batches, 1);
    assert.ok(e.heldOut.top1 >= 0 && e.heldOut.top1 <= 1);
  }
  assert.ok(Math.abs(reference.history[0].trainLoss - Math.log(8)) < 0.5, 'InfoNCE starts near log B');
  const want = await treeToTensors(reference.params);

  // Killed in the middle of epoch 2 (after its first step): the checkpoint holds epoch 1.
  const checkpoint = path.join(dir, 'pretrain.safetensors');
  const killed = options({
    checkpoint,
    onStep: (s) => {
      if (s === 3) throw new Error('killed');
    },
  });
  await assert.rejects(pretrain(train, heldOut, killed), /killed/);
  const state = JSON.parse(readSafetensors(checkpoint).metadata.state) as { epoch: number; step: number; history: PretrainEpoch[] };
  assert.equal(state.epoch, 1);
  assert.equal(state.step, 2);
  // Same seed, same first epoch (loss and held-out retrieval) as the reference run.
  assert.deepEqual(timeless(state.history), timeless(reference.history.slice(0, 1)));

  // Other options than the checkpoint's are refused, not silently mixed.
  await assert.rejects(pretrain(train, heldOut, options({ checkpoint, epochs: 3 })), /other pre-training options or data/);
  await assert.rejects(pretrain(train.slice(1), heldOut, options({ checkpoint })), /other pre-training options or data/);

  const resumedSteps: number[] = [];
  const logs: string[] = [];
  const resumed = await pretrain(train, heldOut, options({ checkpoint, onStep: (s) => resumedSteps.push(s), log: (l) => logs.push(l) }));
  assert.ok(logs.some((l) => /resumed at epoch 1/.test(l)), logs.join('\n'));
  assert.deepEqual(resumedSteps, [3, 4], 'continues at the step after the checkpoint');
  assert.deepEqual(timeless(resumed.history), timeless(reference.history));
  const got = await treeToTensors(resumed.params);
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
  for (const name of Object.keys(want)) assert.deepEqual(got[name].data, want[name].data, `${name} differs after resume`);

  // A finished checkpoint is not trained again: same weights, no steps.
  const again = await pretrain(train, heldOut, options({ checkpoint, onStep: () => assert.fail('no training expected') }));
  const gotAgain = await treeToTensors(again.params);
  for (const name of Object.keys(want)) assert.deepEqual(gotAgain[name].data, want[name].data, name);
  // The caller owns exactly one reference to every returned weight.
  for (const r of [reference, resumed, again]) assert.ok((tree.leaves(r.params) as { refCount: number }[]).every((a) => a.refCount === 1));
  tree.dispose([reference.params, resumed.params, again.params]);
});
