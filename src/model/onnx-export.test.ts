import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jit, numpy as np, random, tree } from '@jax-js/jax';
import { packBatch } from '../features/trial-batch.ts';
import { OnnxScorer } from '../predict/onnx-scorer.ts';
import { initJax } from '../runtime/jax-init.ts';
import { treeToTensors } from '../runtime/param-tree.ts';
import { syntheticTrials } from '../train/testing/synthetic-trials.ts';
import { classifyLogits, initCladmop, initLoraParams, type CladmopBatch, type CladmopLora, type CladmopParams } from './cladmop.ts';
import { TINY_CLADMOP } from './testing/tiny-config.ts';

await initJax();
// All three levels, so every fusion block is in the graph.
const C = { ...TINY_CLADMOP, levels: [0, 1, 2] };
const MAX_CRITERIA = 16;
const params = initCladmop(C, 3);
// Non-zero LoRA B (fresh adapters are exactly zero, which would not test the merge).
const lora = tree.map((a: np.Array) => a.ref.add(random.normal(random.key(7), a.shape).mul(0.3)), initLoraParams(C, 3) as never) as CladmopLora;
const tensors = { ...(await treeToTensors(params, 'base')), ...(await treeToTensors(lora, 'lora')) };
const trials = syntheticTrials(21, 4, 'NCT7').map((t) => t.input);
// Make one trial molecule-free (the unknown-molecule slot) and one with criteria longer than the budget.
trials[3] = { ...trials[3], dm: { ...trials[3].dm, molecules: new Float32Array(0), nMolecules: 0 } };

async function jaxLogits(items: typeof trials): Promise<Float32Array> {
  const fn = jit((p: CladmopParams, l: CladmopLora, b: CladmopBatch) => classifyLogits(C, p, l, b));
  const out: number[] = [];
  for (const t of items) {
    const { batch } = packBatch([t], { size: 1, maxCriteria: MAX_CRITERIA });
    out.push(...((await fn(tree.ref(params), tree.ref(lora), batch).data()) as Float32Array));
  }
  fn.dispose();
  return Float32Array.from(out);
}

test('the ONNX classifier equals classifyLogits (jax-js) with LoRA merged, to float32 rounding', async () => {
  const scorer = await OnnxScorer.create(C, tensors, MAX_CRITERIA);
  const want = await jaxLogits(trials);
  const got = await scorer.logits(trials);
  let maxDiff = 0;
  for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(want[i] - got[i]));
  assert.ok(maxDiff < 1e-4, `max |logit difference| ${maxDiff}`);
  assert.ok(new Set(Array.from(got, (v) => v.toFixed(4))).size > 10, 'distinct trials get distinct logits');
  await scorer.dispose();
});

test('one trial per run (the default): a trial scores the same alone or in any list, bit for bit; batches agree to 1e-6', async () => {
  const scorer = await OnnxScorer.create(C, tensors, MAX_CRITERIA);
  const a = new Float32Array(trials.length);
  for (let i = 0; i < trials.length; i++) a.set(await scorer.logits([trials[i]]), i);
  assert.deepEqual(await scorer.logits(trials), a);
  const reversed = await scorer.logits([...trials].reverse());
  assert.deepEqual(reversed.reverse(), a);
  // Batched runs pad to the longest trial: the same function, not the same last bits.
  const batched = await OnnxScorer.create(C, tensors, MAX_CRITERIA, { batchSize: 16 });
  const b = await batched.logits(trials);
  b.forEach((v, i) => assert.ok(Math.abs(v - a[i]) < 1e-5, `trial ${i}: ${v} vs ${a[i]}`));
  // Probabilities: sigmoid of the logits, in order.
  const p = await scorer.score(trials.slice(0, 3));
  p.forEach((v, i) => assert.ok(Math.abs(v - 1 / (1 + Math.exp(-a[i]))) < 1e-12));
  await batched.dispose();
  await scorer.dispose();
  await assert.rejects(scorer.logits(trials), /disposed/);
});

test('a missing weight is named', async () => {
  const { ['base.head.l3.w']: _, ...rest } = tensors;
  await assert.rejects(OnnxScorer.create(C, rest, MAX_CRITERIA), /tensor base\.head\.l3\.w is missing/);
});
