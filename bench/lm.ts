/**
 * Benchmark 2: the criteria LM (src/lm/model.ts) at its shipped configuration (DEFAULT_LM_TRAIN.model).
 *
 *   --part forward --batch B   the frozen encoder's forward as LmCriteriaEncoder runs it: the ONNX graph of the
 *                              LM (src/lm/onnx-export.ts) in onnxruntime-node, hidden states of the three levels,
 *                              no logits, on B x maxLen tokens: tokens/s. Beside it, the same forward jitted in
 *                              jax-js (the training runtime) at min(B, 4) rows, for comparison.
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
import { forward, initParams, lmLoss, paramsFromFlat, paramsToFlat, parameterShapes, countParameters, type LmParams } from '../src/lm/model.ts';
import { evenlySpacedLayers } from '../src/lm/lm-encoder.ts';
import { lmToOnnx } from '../src/lm/onnx-export.ts';
import { arraysToTensors } from '../src/lm/params-io.ts';
import { adamInit, adamUpdate, DEFAULT_ADAM, type AdamState } from '../src/train/adam.ts';
import { isOutOfMemory, log, numberOption, round, runBench, stats, timeIt, msSummary, type Stats } from './common.ts';
import { lmForwardFlops, lmTrainFlops } from './flops.ts';

type NpArray = np.Array;

function randomTokens(B: number, T: number, vocab: number, seed: number): Int32Array<ArrayBuffer> {
  let s = seed >>> 0 || 1;
  const out = new Int32Array(B * T);
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = 4 + (s % (vocab - 4)); // ids 0..3 are special tokens
  }
  return out;
}

/** Tokens per batch, timing, tokens/s and achieved GFLOP/s of a B x T workload of `flops` per call. */
function tokenRate(B: number, T: number, s: Stats, flops: number) {
  return { tokensPerBatch: B * T, ms: msSummary(s), tokensPerSecond: round((B * T) / (s.median / 1000), 1), gflops: round(flops / (s.median / 1000) / 1e9, 2) };
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
    const toks = randomTokens(B, T, c.vocabSize, 7);
    // onnxruntime: the production path.
    const ort = await import('onnxruntime-node');
    const weights = Object.fromEntries(Object.entries(await arraysToTensors(paramsToFlat(params))).map(([k, t]) => [k, t.data as Float32Array]));
    const session = await ort.InferenceSession.create(lmToOnnx(c, weights, { hiddenLayers: layers, lastHiddenState: false }), { graphOptimizationLevel: 'all' });
    const feeds = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(toks, (v) => BigInt(v)), [B, T]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(B * T).fill(1n), [B, T]),
    };
    const ortMs = await timeIt(async () => void (await session.run(feeds)), { warmup: args.quick ? 1 : 2, repeats: args.quick ? 2 : 8, log, label: `onnxruntime forward ${B}x${T}` });
    await session.release();
    // jax-js, for comparison (its wasm heap limits the batch).
    const Bj = Math.min(B, 4);
    const fwd = jit((p: LmParams, tokens: NpArray) => forward(c, p, tokens, { key: null, logits: false, returnLayers: layers }).hidden);
    const jt = toks.subarray(0, Bj * T);
    let jaxMs: number[] | null = null;
    try {
      jaxMs = await timeIt(
        async () => {
          const hidden = fwd(tree.ref(params), np.array(Int32Array.from(jt), { dtype: np.int32 }).reshape([Bj, T]));
          await Promise.all(hidden.map((h) => h.data()));
        },
        { warmup: 1, repeats: args.quick ? 1 : 3, log, label: `jax-js forward ${Bj}x${T}` },
      );
    } catch (err) {
      if (!isOutOfMemory(err)) throw err;
      notes.push(`jax-js forward ${Bj}x${T} does not fit the wasm heap`);
    }
    const s = stats(ortMs);
    const flops = B * lmForwardFlops(c, T, false).total;
    const js = jaxMs ? stats(jaxMs) : null;
    return {
      method:
        `LmCriteriaEncoder's forward: the ONNX graph of src/lm/model.ts (src/lm/onnx-export.ts, hidden states of layers ${layers.join('/')}, no logits) ` +
        `in onnxruntime-node (graph optimisation all, intra-op threads = cores), session.run on ${B}x${T} random tokens incl. output copy; median of ${s.n} after warm-up; ` +
        `tokens/s = ${B * T} / median; GFLOP/s from analytical matmul FLOPs (dense attention). Beside it: jit(forward) in jax-js on ${Bj}x${T}.`,
      metrics: {
        ...base,
        batch: B,
        ...tokenRate(B, T, s, flops),
        flopsPerBatch: flops,
        jaxjs: js ? { batch: Bj, msMedian: round(js.median, 1), tokensPerSecond: round((Bj * T) / (js.median / 1000), 1) } : null,
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
    const trainStep = jit((p: LmParams, s: AdamState<LmParams>, toks: NpArray, w: NpArray, key: NpArray, lr: NpArray) => {
      const [loss, grads] = valueAndGrad((pp: LmParams) => lmLoss(c, pp, toks, w, key))(tree.ref(p));
      const [p2, s2, norm] = adamUpdate(p, grads, s, lr, { ...DEFAULT_ADAM, weightDecay: o.weightDecay }, o.clipNorm, decayMask);
      return [p2, s2, loss, norm] as [LmParams, AdamState<LmParams>, NpArray, NpArray];
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
        ...tokenRate(B, T, s, flops),
        flopsPerStep: flops,
      },
    };
  }
  throw new Error(`--part must be forward or train, got ${part}`);
});
