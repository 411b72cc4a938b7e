import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { init, tree } from '@jax-js/jax';
import { treeToTensors } from '../runtime/param-tree.ts';
import { readSafetensors } from '../runtime/safetensors.ts';
import { epochBatches, pretrain, type PretrainEpoch, type PretrainOptions } from './pretrain.ts';
import { syntheticPretrainOptions, syntheticTrials } from './testing/synthetic-trials.ts';

await init('wasm');

const train = syntheticTrials(20, 1, 'NCT9');
const heldOut = syntheticTrials(8, 2, 'NCT8');
const dir = mkdtempSync(path.join(os.tmpdir(), 'cladmop-pretrain-test-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const options = (over: Partial<PretrainOptions> = {}) => syntheticPretrainOptions(over);
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
