import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTrainingLog } from './training-log.ts';
import { legendValues, metricTitle } from './plots.ts';

test('a bare array of epochs is one curve; non-numeric fields are skipped', () => {
  const curves = parseTrainingLog([
    { epoch: 1, trainLoss: 0.7, validPrAuc: 0.6, note: 'warmup' },
    { epoch: 2, trainLoss: 0.6, validPrAuc: 0.65 },
  ]);
  assert.equal(curves.length, 1);
  assert.equal(curves[0].name, 'training');
  assert.equal(curves[0].xName, 'epoch');
  assert.deepEqual(curves[0].metrics, ['trainLoss', 'validPrAuc']);
  assert.equal(curves[0].points.length, 4);
});

test('named curves under `curves` or at the top level, by step', () => {
  const nested = parseTrainingLog({ curves: { pretrain: [{ step: 10, loss: 3 }], finetune: [{ epoch: 1, trainLoss: 0.5 }] } });
  assert.deepEqual(nested.map((c) => [c.name, c.xName]), [['pretrain', 'step'], ['finetune', 'epoch']]);
  const top = parseTrainingLog({ model: 'x', finetune: [{ step: 1, trainLoss: 0.5 }], empty: [], scalars: [1, 2] });
  assert.deepEqual(top.map((c) => c.name), ['finetune']);
  assert.deepEqual(parseTrainingLog({ curves: [{ epoch: 0, a: 1 }] }).map((c) => c.name), ['training']);
  assert.deepEqual(parseTrainingLog(null), []);
  assert.deepEqual(parseTrainingLog('text'), []);
});

test('metric names read as words in plot titles', () => {
  assert.equal(metricTitle('validPrAuc'), 'valid PR-AUC');
  assert.equal(metricTitle('trainLoss'), 'train loss');
  assert.equal(metricTitle('validRocAuc'), 'valid ROC-AUC');
});

test('legend values are round and cover the range', () => {
  assert.deepEqual(legendValues(221), [50, 100, 150, 200]);
  assert.deepEqual(legendValues(3), [1, 2, 3]);
  assert.deepEqual(legendValues(12), [5, 10]);
  assert.deepEqual(legendValues(0), [1]);
});
