import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answersTarget } from './reproduce-run.ts';
import { DEFAULT_PRETRAIN_EPOCHS } from '../src/train/variants.ts';

test('only a full phase I run with the default options answers the reproduce target', () => {
  const base = { phases: ['I'], quick: false, options: { seeds: [1, 2, 3], ablations: [], pretrainEpochs: DEFAULT_PRETRAIN_EPOCHS, encoder: 'lm' } };
  assert.equal(answersTarget(base), true);
  // Files written before options were recorded came from default runs.
  assert.equal(answersTarget({ ...base, options: null }), true);
  assert.equal(answersTarget({ ...base, quick: true }), false);
  assert.equal(answersTarget({ ...base, phases: ['I', 'II'] }), false);
  assert.equal(answersTarget({ ...base, phases: ['II'] }), false);
  assert.equal(answersTarget({ ...base, options: { ...base.options, ablations: ['no-pretrain'] } }), false);
  assert.equal(answersTarget({ ...base, options: { ...base.options, seeds: [1] } }), false);
  assert.equal(answersTarget({ ...base, options: { ...base.options, pretrainEpochs: DEFAULT_PRETRAIN_EPOCHS + 2 } }), false);
  assert.equal(answersTarget({ ...base, options: { ...base.options, encoder: 'onnx:/models/biogpt' } }), false);
  assert.equal(answersTarget({ ...base, options: { ...base.options, fewShot: false } }), false);
});
