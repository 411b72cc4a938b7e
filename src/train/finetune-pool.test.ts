import { test } from 'node:test';
import assert from 'node:assert/strict';
import { init, tree } from '@jax-js/jax';
import { initCladmop, type CladmopConfig } from '../model/cladmop.ts';
import { treeToTensors } from '../runtime/param-tree.ts';
import { finetune, GroupedCriteria, predictProbabilities, type FinetuneOptions } from './finetune.ts';
import { FinetunePool, poolDataFor, type PoolFinetuneOptions } from './finetune-pool.ts';
import { SYNTHETIC_CONFIG, syntheticTrials } from './testing/synthetic-trials.ts';

await init('wasm');

const C: CladmopConfig = SYNTHETIC_CONFIG;
const train = syntheticTrials(22, 1, 'NCT9', { learnable: true });
const valid = syntheticTrials(10, 3, 'NCT8', { learnable: true });
const testSplit = syntheticTrials(12, 5, 'NCT7', { learnable: true });
const options: PoolFinetuneOptions = {
  seed: 1,
  mode: 'lora',
  batchSize: 8,
  maxEpochs: 4,
  patience: 2,
  lr: 3e-2,
  weightDecay: 0.01,
  clipNorm: 1,
  maxCriteria: 16,
};

test('FinetunePool: runs in worker processes give what finetune gives in this process (history, probabilities, weights)', async () => {
  const pretrained = initCladmop(C, 3);
  const grouped = new GroupedCriteria(C, pretrained.grouping);
  const data = await poolDataFor(C, options, pretrained, { train, valid, test: testSplit }, grouped);
  const pool = await FinetunePool.start(data, { workers: 2 });
  try {
    assert.equal(pool.size, 2);
    const fewRows = [0, 1, 2, 3, 5, 8, 13, 21];
    const epochs: number[] = [];
    // Two jobs at once: one per worker.
    const [full, few] = await Promise.all([
      pool.run({ seed: 4, predict: ['valid', 'test'], returnWeights: true }, (e) => epochs.push(e)),
      pool.run({ seed: 2, trainRows: fewRows, maxEpochs: 3, predict: ['test'] }),
    ]);

    const o: FinetuneOptions = { ...options, config: C, seed: 4, grouped };
    const here = await finetune(tree.ref(pretrained), train, valid, o);
    assert.deepEqual(full.history, here.history);
    assert.equal(full.bestEpoch, here.bestEpoch);
    assert.equal(full.posWeight, here.posWeight);
    assert.deepEqual(epochs, here.history.map((h) => h.epoch));
    const testHere = await predictProbabilities(C, tree.ref(here.params), tree.ref(here.lora), testSplit, o, grouped);
    assert.deepEqual(full.probabilities.test, testHere);
    const validHere = await predictProbabilities(C, tree.ref(here.params), tree.ref(here.lora), valid, o, grouped);
    assert.deepEqual(full.probabilities.valid, validHere);
    const weightsHere = await treeToTensors({ lora: here.lora, head: here.params.head });
    assert.deepEqual(Object.keys(full.weights!).sort(), Object.keys(weightsHere).sort());
    for (const name of Object.keys(weightsHere)) assert.deepEqual(full.weights![name].data, weightsHere[name].data, name);
    tree.dispose([here.params, here.lora]);

    const o2: FinetuneOptions = { ...options, config: C, seed: 2, maxEpochs: 3, grouped };
    const fewHere = await finetune(tree.ref(pretrained), fewRows.map((i) => train[i]), valid, o2);
    assert.deepEqual(few.history, fewHere.history);
    assert.equal(few.probabilities.valid, undefined);
    assert.equal(few.weights, undefined);
    assert.deepEqual(few.probabilities.test, await predictProbabilities(C, fewHere.params, fewHere.lora, testSplit, o2, grouped));
  } finally {
    pool.close();
    tree.dispose(pretrained);
  }
});

test('FinetunePool: a failing run rejects with the worker message and the worker goes on; a closed pool refuses jobs', async () => {
  const pretrained = initCladmop(C, 3);
  const grouped = new GroupedCriteria(C, pretrained.grouping);
  const data = await poolDataFor(C, options, pretrained, { train, valid, test: testSplit }, grouped);
  tree.dispose(pretrained);
  // One worker: the job after the failure must run in the worker that failed.
  const pool = await FinetunePool.start(data, { workers: 1 });
  try {
    // Row 99 does not exist.
    await assert.rejects(pool.run({ seed: 1, trainRows: [0, 99], predict: [] }), /seed 1\) failed in worker 0: Error: trainRows\[1\] = 99 is not a row of the train split \(22 trials\)/);
    // The worker itself is still fine: a correct job runs.
    const ok = await pool.run({ seed: 1, trainRows: [0, 1, 2, 3], maxEpochs: 1, predict: ['test'] });
    assert.equal(ok.probabilities.test!.length, testSplit.length);
  } finally {
    pool.close();
  }
  await assert.rejects(pool.run({ seed: 1, predict: [] }), /closed/);
});
