/**
 * Benchmark 3: CLaDMoP training-step time at the configured sizes (DEFAULT_CLADMOP with dEncoder 192, batch 16,
 * 512 criteria tokens; random inputs packed by src/features/trial-batch.ts).
 *
 *   --part pretrain   the step of src/train/pretrain.ts: symmetric InfoNCE over pairLogits (B^2 cross-encoded
 *                     pairs) + AdamW (clipping, decay on matrices), jitted together.
 *   --part finetune   the LoRA step of src/train/finetune.ts: weighted BCE over classifyFromGrouped (DM branch +
 *                     head on precomputed grouped criteria) + AdamW on the LoRA adapters and head.
 *   --part count      parameter counts only (for the PyTorch mirror check).
 *
 *   node bin/run-ts.mjs bench/cladmop-train.ts --part pretrain [--quick] [--json]
 */
import { init, numpy as np, tree } from '@jax-js/jax';
import { initCladmop, initLoraParams } from '../src/model/cladmop.ts';
import { DEFAULT_PRETRAIN, makePretrainStep } from '../src/train/pretrain.ts';
import { flatAdamInit, flattenTree } from '../src/train/flat-adam.ts';
import { DEFAULT_FINETUNE, makeLoraFinetuneStep, type LoraArgs } from '../src/train/finetune.ts';
import { packBatch, packDm, packGrouped } from '../src/features/trial-batch.ts';
import { log, numberOption, round, runBench, stats, timeIt, msSummary } from './common.ts';
import { BENCH_BATCH, BENCH_CRITERIA, benchConfig, parameterCounts, rng, syntheticTrials } from './synthetic.ts';


await runBench('cladmop-train', async (args) => {
  await init('wasm');
  const part = args.options.part ?? 'pretrain';
  const { config: c, icdSource } = benchConfig();
  const B = numberOption(args, 'batch', BENCH_BATCH);
  const L = numberOption(args, 'criteria', BENCH_CRITERIA);
  const counts = parameterCounts(c);
  const base = { config: c, icdSource, batch: B, criteriaTokens: L, parameters: counts, part };
  if (part === 'count') return { method: 'parameter counts of initCladmop / initLoraParams', metrics: base };

  // The first step compiles; the second still allocates (measured: slower than the rest).
  const warmup = args.quick && part === 'pretrain' ? 1 : 2;
  const repeats = args.quick ? (part === 'pretrain' ? 2 : 3) : 15;
  const trials = syntheticTrials(B, c, L, 11);
  let ms: number[];
  let method: string;

  if (part === 'pretrain') {
    const o = DEFAULT_PRETRAIN;
    const init = initCladmop(c, o.seed);
    // The step pretrain() runs (src/train/pretrain.ts).
    const train = makePretrainStep(c, o, init);
    let theta = flattenTree(init);
    let adam = flatAdamInit(train.layout.size);
    const run = async () => {
      // Packing is part of each step in pretrain() too.
      const { batch } = packBatch(trials, { size: B, maxCriteria: L });
      const [theta2, s2, loss] = train.step(theta, adam, o.lr, batch);
      theta = theta2;
      adam = s2;
      const v = (await loss.data())[0];
      if (!Number.isFinite(v)) throw new Error(`pre-training loss is ${v}`);
    };
    ms = await timeIt(run, { warmup, repeats, log, label: `pretrain step B=${B} L=${L}` });
    method =
      `the jitted pre-training step of src/train/pretrain.ts: packBatch of ${B} synthetic trials (${L} criteria tokens x 3 levels x ${c.dEncoder}), ` +
      `infoNce(pairLogits) over ${B}x${B} cross-encoded pairs, valueAndGrad, AdamW (clip ${o.clipNorm}, decay ${o.weightDecay} on matrices), loss read back; ` +
      `${warmup} warm-up step(s) (the first compiles), median of ${repeats}.`;
  } else if (part === 'finetune') {
    const o = DEFAULT_FINETUNE;
    const pre = initCladmop(c, 3);
    const { head, ...baseParams } = pre;
    // LoRA mode: the grouping blocks are frozen and their outputs precomputed, so they stay out of the step.
    tree.dispose(baseParams.grouping);
    const frozen: LoraArgs['f'] = { ...baseParams, grouping: [] };
    const trainable = { lora: initLoraParams(c, o.seed), head };
    // The step finetune() runs (src/train/finetune.ts).
    const train = makeLoraFinetuneStep(c, trainable, 1.2, o);
    let theta = flattenTree(trainable);
    let adam = flatAdamInit(train.layout.size);
    const K = c.centroids[c.centroids.length - 1];
    const r = rng(5);
    const grouped = trials.map(() => c.levels.map(() => Float32Array.from({ length: K * c.dModel }, () => 2 * r() - 1)));
    const shapes = c.levels.map(() => [K, c.dModel] as [number, number]);
    const run = async () => {
      const g = packGrouped(grouped, shapes);
      const dm = packDm(trials.map((t) => t.dm));
      const labels = np.array(Float32Array.from({ length: B }, (_, i) => i % 2));
      const weights = np.ones([B]);
      const [theta2, s2, loss] = train.step(theta, adam, o.lr, { f: tree.ref(frozen), g, dm, y: labels, w: weights, off: np.zeros([B]) });
      theta = theta2;
      adam = s2;
      const v = (await loss.data())[0];
      if (!Number.isFinite(v)) throw new Error(`fine-tuning loss is ${v}`);
    };
    ms = await timeIt(run, { warmup, repeats, log, label: `LoRA fine-tune step B=${B}` });
    method =
      `the jitted LoRA fine-tuning step of src/train/finetune.ts: packGrouped (3 levels x ${K} grouped tokens) + packDm of ${B} synthetic trials, ` +
      `weightedBce(classifyFromGrouped) with LoRA r=${c.loraRank} on the DM branch, valueAndGrad over adapters + head, AdamW; ` +
      `${warmup} warm-up steps (the first compiles), median of ${repeats}.`;
  } else throw new Error(`--part must be pretrain, finetune or count, got ${part}`);

  const s = stats(ms);
  return {
    method,
    metrics: { ...base, ms: msSummary(s), stepsPerSecond: round(1000 / s.median, 3), trialsPerSecond: round((B * 1000) / s.median, 2) },
  };
});
