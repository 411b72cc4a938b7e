/**
 * Benchmark 1: the machine's float32 matmul ceiling. A 1024 x 1024 x 1024 product (2 * 1024^3 FLOPs) in
 * onnxruntime-node (an ONNX model with one MatMul node, built by src/runtime/onnx-graph.ts) and the same product in
 * @jax-js/jax (jit, wasm backend). GFLOP/s from the best of N timed runs after warm-up (median also reported).
 * Both results are checked against dot products computed in JavaScript on a sample of entries.
 *
 *   node bin/run-ts.mjs bench/matmul.ts [--quick] [--json] [--n 1024]
 */
import os from 'node:os';
import { init, jit, numpy as np } from '@jax-js/jax';
import { log, numberOption, randomFloats, round, runBench, stats, timeIt } from './common.ts';
import { encodeModel, FLOAT, GraphBuilder, valueInfo } from '../src/runtime/onnx-graph.ts';

/** Max relative error of C = A @ B on `samples` entries (against float64 dot products). */
function checkProduct(a: Float32Array, b: Float32Array, c: Float32Array, n: number, samples = 64): number {
  let worst = 0;
  for (let s = 0; s < samples; s++) {
    const i = (s * 7919) % n;
    const j = (s * 104729 + 13) % n;
    let ref = 0;
    let mag = 0;
    for (let k = 0; k < n; k++) {
      ref += a[i * n + k] * b[k * n + j];
      mag += Math.abs(a[i * n + k] * b[k * n + j]);
    }
    worst = Math.max(worst, Math.abs(c[i * n + j] - ref) / Math.max(mag, 1e-6));
  }
  return worst;
}

/** An ONNX model with one MatMul node: Y[m, n] = A[m, k] @ B[k, n]. */
export function matmulModel(m: number, k: number, n: number): Uint8Array {
  const g = new GraphBuilder();
  g.op('MatMul', ['A', 'B']);
  g.nameLastOutput('Y');
  return encodeModel(g, {
    name: 'cladmop_bench_matmul',
    inputs: [valueInfo('A', FLOAT, [m, k]), valueInfo('B', FLOAT, [k, n])],
    outputs: [valueInfo('Y', FLOAT, [m, n])],
    opset: 13,
  });
}

await runBench('matmul', async (args, { notes }) => {
  const n = numberOption(args, 'n', 1024);
  const warmup = args.quick ? 2 : 5;
  const repeats = args.quick ? 5 : 30;
  const flops = 2 * n ** 3;
  const a = randomFloats(n * n, 1);
  const b = randomFloats(n * n, 2);
  const metrics: Record<string, unknown> = { n, flops, warmup, repeats };
  const gflops = (ms: number) => round(flops / (ms / 1000) / 1e9, 2);

  // onnxruntime-node
  try {
    const ort = await import('onnxruntime-node');
    const threads = os.availableParallelism();
    const session = await ort.InferenceSession.create(matmulModel(n, n, n), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const feeds = { A: new ort.Tensor('float32', a, [n, n]), B: new ort.Tensor('float32', b, [n, n]) };
    const first = await session.run(feeds);
    const err = checkProduct(a, b, first.Y.data as Float32Array, n);
    if (err > 1e-4) throw new Error(`onnxruntime product is wrong (relative error ${err})`);
    const ms = await timeIt(async () => (await session.run(feeds)).Y.data, { warmup, repeats, log, label: 'onnxruntime' });
    const s = stats(ms);
    metrics.onnxruntime = {
      status: 'ok',
      version: ort.env.versions?.node ?? null,
      intraOpThreads: threads,
      bestMs: round(s.min, 2),
      medianMs: round(s.median, 2),
      gflops: gflops(s.min),
      gflopsMedian: gflops(s.median),
      maxRelativeError: err,
    };
    await session.release();
  } catch (err) {
    metrics.onnxruntime = { status: 'unavailable', reason: `unavailable: ${(err as Error).message}` };
    notes.push(`onnxruntime-node: ${(err as Error).message}`);
  }

  // @jax-js/jax
  await init('wasm');
  const f = jit((x: np.Array, y: np.Array) => np.matmul(x, y));
  const A = np.array(a).reshape([n, n]);
  const B = np.array(b).reshape([n, n]);
  const firstOut = (await f(A.ref, B.ref).data()) as Float32Array;
  const jaxErr = checkProduct(a, b, firstOut, n);
  if (jaxErr > 1e-4) throw new Error(`jax-js product is wrong (relative error ${jaxErr})`);
  const ms = await timeIt(
    async () => {
      const out = f(A.ref, B.ref);
      await out.blockUntilReady();
      out.dispose();
    },
    { warmup, repeats, log, label: 'jax-js' },
  );
  A.dispose();
  B.dispose();
  const s = stats(ms);
  metrics.jax = {
    status: 'ok',
    threads: (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? null,
    workers: typeof (globalThis as { Worker?: unknown }).Worker !== 'undefined',
    bestMs: round(s.min, 2),
    medianMs: round(s.median, 2),
    gflops: gflops(s.min),
    gflopsMedian: gflops(s.median),
    maxRelativeError: jaxErr,
  };
  const ortG = (metrics.onnxruntime as { gflops?: number }).gflops;
  if (ortG) metrics.jaxOverOnnxruntime = round((metrics.jax as { gflops: number }).gflops / ortG, 3);
  return {
    method:
      `C = A @ B, float32 ${n}x${n} times ${n}x${n} (2n^3 = ${(flops / 1e9).toFixed(2)} GFLOP). onnxruntime-node: InferenceSession on a ` +
      `one-node ONNX MatMul model (opset 13) built in code, intra-op threads = cores, timed session.run incl. output copy. ` +
      `jax-js: jit(np.matmul) on wasm, timed call + blockUntilReady. ${warmup} warm-up runs, then best (and median) of ${repeats}; ` +
      `results checked against float64 dot products on 64 entries.`,
    metrics,
  };
});
