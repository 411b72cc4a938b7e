/**
 * Benchmark 2: the criteria LM (src/lm/model.ts) at its shipped configuration (DEFAULT_LM_TRAIN.model).
 *
 *   --part forward --batch B   encoder forward (jit, hidden states of the three levels as LmCriteriaEncoder
 *                              reads them, no logits) on B x maxLen tokens: tokens/s.
 *   --part train [--batch 2]   the jitted training step of src/lm/train-lm.ts (loss + gradients + AdamW with
 *                              clipping and the weight-decay mask, dropout on) on B x maxLen tokens: tokens/s.
 *
 * Random weights (seeded init) and random tokens: the cost does not depend on the values. A wasm out-of-memory
 * is reported as `status: error` with `outOfMemory: true`, so bench/run.ts can retry with a smaller batch in a
 * fresh process (the jax-js heap never shrinks). Achieved GFLOP/s = analytical FLOPs (bench/flops.ts) / time.
 *
 *   node bin/run-ts.mjs bench/lm.ts --part forward --batch 16 [--quick] [--json]
 */
import { init, jit, numpy as np, random, tree, valueAndGrad } from '@jax-js/jax';
import { DEFAULT_LM_TRAIN } from '../src/lm/train-lm.ts';
import { forward, initParams, lmLoss, paramsFromFlat, parameterShapes, countParameters, type LmParams } from '../src/lm/model.ts';
import { evenlySpacedLayers } from '../src/lm/lm-encoder.ts';
import { adamInit, adamUpdate, DEFAULT_ADAM, type AdamState } from '../src/train/adam.ts';
import { isOutOfMemory, log, numberOption, round, runBench, stats, timeIt } from './common.ts';
import { lmForwardFlops, lmTrainFlops } from './flops.ts';

type Array = np.Array;

function randomTokens(B: number, T: number, vocab: number, seed: number): Int32Array<ArrayBuffer> {
  let s = seed >>> 0 || 1;
  const out = new Int32Array(B * T);
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = 4 + (s % (vocab - 4)); // ids 0..3 are special tokens
  }
  return out;
}

await runBench('lm', async (args, { notes }) => {
  await init('wasm');
  const part = args.options.part ?? 'forward';
  const c = DEFAULT_LM_TRAIN.model;
  const T = c.maxLen;
  const params = initParams(c, 1);
  const base = { config: c, parameters: countParameters(c), part, seqLen: T };

  if (part === 'forward') {
    const B = numberOption(args, 'batch', 16);
    const layers = evenlySpacedLayers(c.nLayers);
    const fwd = jit((p: LmParams, tokens: Array) => forward(c, p, tokens, { key: null, logits: false, returnLayers: layers }).hidden);
    const toks = randomTokens(B, T, c.vocabSize, 7);
    const run = async () => {
      const hidden = fwd(tree.ref(params), np.array(toks, { dtype: np.int32 }).reshape([B, T]));
      // Like LmCriteriaEncoder: the hidden states are read back to the host.
      await Promise.all(hidden.map((h) => h.data()));
    };
    let ms: number[];
    try {
      ms = await timeIt(run, { warmup: args.quick ? 1 : 2, repeats: args.quick ? 2 : 8, log, label: `forward ${B}x${T}` });
    } catch (err) {
      if (!isOutOfMemory(err)) throw err;
      return { status: 'error', reason: `batch ${B}x${T} does not fit the wasm heap: ${(err as Error).message}`, method: '', metrics: { ...base, batch: B, outOfMemory: true } };
    }
    const s = stats(ms);
    const flops = B * lmForwardFlops(c, T, false).total;
    return {
      method:
        `jit(forward) of src/lm/model.ts as LmCriteriaEncoder runs it (no dropout, no logits, hidden states of layers ${layers.join('/')} ` +
        `copied to the host) on ${B}x${T} random tokens; median of ${s.n} after warm-up; tokens/s = ${B * T} / median; ` +
        `GFLOP/s from analytical matmul FLOPs (dense attention).`,
      metrics: {
        ...base,
        batch: B,
        tokensPerBatch: B * T,
        ms: { median: round(s.median, 1), min: round(s.min, 1), max: round(s.max, 1), n: s.n },
        tokensPerSecond: round((B * T) / (s.median / 1000), 1),
        flopsPerBatch: flops,
        gflops: round(flops / (s.median / 1000) / 1e9, 2),
      },
    };
  }

  if (part === 'train') {
    const B = numberOption(args, 'batch', DEFAULT_LM_TRAIN.batchSize);
    const o = DEFAULT_LM_TRAIN;
    const shapes = parameterShapes(c);
    const decayFlat = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, s.length === 2]));
    const decayMask = paramsFromFlat(c, decayFlat as never) as never;
    // Same step as trainLm (src/lm/train-lm.ts).
    const trainStep = jit((p: LmParams, s: AdamState<LmParams>, toks: Array, w: Array, key: Array, lr: Array) => {
      const [loss, grads] = valueAndGrad((pp: LmParams) => lmLoss(c, pp, toks, w, key))(tree.ref(p));
      const [p2, s2, norm] = adamUpdate(p, grads, s, lr, { ...DEFAULT_ADAM, weightDecay: o.weightDecay }, o.clipNorm, decayMask);
      return [p2, s2, loss, norm] as [LmParams, AdamState<LmParams>, Array, Array];
    });
    let p = params;
    let adam: AdamState<LmParams> = adamInit(tree.ref(p));
    let step = 0;
    const run = async () => {
      const toks = np.array(randomTokens(B, T + 1, c.vocabSize, 100 + step), { dtype: np.int32 }).reshape([B, T + 1]);
      const w = np.ones([B, T]);
      const key = random.key(step);
      const [p2, s2, loss, norm] = trainStep(p, adam, toks, w, key, np.array(o.lr));
      p = p2;
      adam = s2;
      const v = (await loss.data())[0];
      norm.dispose();
      if (!Number.isFinite(v)) throw new Error(`loss is ${v} at step ${step}`);
      step++;
    };
    let ms: number[];
    try {
      ms = await timeIt(run, { warmup: args.quick ? 1 : 2, repeats: args.quick ? 2 : 20, log, label: `train step ${B}x${T}` });
    } catch (err) {
      if (!isOutOfMemory(err)) throw err;
      return { status: 'error', reason: `training batch ${B}x${T} does not fit the wasm heap: ${(err as Error).message}`, method: '', metrics: { ...base, batch: B, outOfMemory: true } };
    }
    const s = stats(ms);
    const flops = B * lmTrainFlops(c, T);
    if (B !== DEFAULT_LM_TRAIN.batchSize) notes.push(`batch ${B} differs from the shipped training batch ${DEFAULT_LM_TRAIN.batchSize}`);
    return {
      method:
        `the jitted training step of src/lm/train-lm.ts (next-token loss with dropout ${c.dropout}, valueAndGrad, AdamW with global-norm ` +
        `clipping ${o.clipNorm} and weight decay on matrices) on ${B}x${T} random tokens, loss read back each step; ${args.quick ? 1 : 2} warm-up step(s) ` +
        `(the first compiles), median of ${s.n}; tokens/s = ${B * T} / median; GFLOP/s from 3x the analytical forward FLOPs incl. logits.`,
      metrics: {
        ...base,
        batch: B,
        tokensPerBatch: B * T,
        ms: { median: round(s.median, 1), min: round(s.min, 1), max: round(s.max, 1), n: s.n },
        tokensPerSecond: round((B * T) / (s.median / 1000), 1),
        flopsPerStep: flops,
        gflops: round(flops / (s.median / 1000) / 1e9, 2),
      },
    };
  }
  throw new Error(`--part must be forward or train, got ${part}`);
});
