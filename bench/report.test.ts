// Tests of the target checks and the Markdown summary (not part of `npm test`); run with:
//   node --import tsx --import ./src/runtime/node20-shim.mjs --test bench/report.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quantile, stats } from './common.ts';
import { lmForwardFlops, lmTrainFlops } from './flops.ts';
import { derive, evaluateTargets, renderMarkdown, type BenchDocument, type BenchEntry } from './report.ts';

function entry(name: string, metrics: Record<string, unknown>, extra: Partial<BenchEntry> = {}): BenchEntry {
  return {
    name,
    status: 'ok',
    method: 'm',
    quick: false,
    startedAt: '2026-01-01T00:00:00Z',
    seconds: 1,
    peakRssMB: 1000,
    loadAverage: { before: 0, after: 0 },
    metrics,
    notes: [],
    file: `bench/${name}.ts`,
    args: [],
    ...extra,
  };
}

const full = (): Record<string, BenchEntry> => ({
  matmul: entry('matmul', { onnxruntime: { status: 'ok', gflops: 100, gflopsMedian: 90 }, jax: { gflops: 20, gflopsMedian: 18 }, jaxOverOnnxruntime: 0.2 }),
  'lm-forward': entry('lm-forward', { batch: 16, seqLen: 512, tokensPerSecond: 2000, gflops: 15, ms: { median: 4000 } }, { peakRssMB: 2200 }),
  'lm-train': entry('lm-train', { batch: 2, seqLen: 512, tokensPerSecond: 600, gflops: 20, ms: { median: 1700 } }),
  'cladmop-pretrain': entry('cladmop-pretrain', { batch: 16, criteriaTokens: 512, ms: { median: 3000, min: 2900 }, trialsPerSecond: 5 }, { peakRssMB: 4500 }),
  'cladmop-finetune': entry('cladmop-finetune', { batch: 16, criteriaTokens: 512, ms: { median: 150, min: 140 }, trialsPerSecond: 100 }),
  torch: entry('torch', {
    batch: 16,
    criteriaTokens: 512,
    ms: { median: 2600 },
    oneThread: { median: 2500 },
    bestMs: 2500,
    torch: '1.13',
    threads: 2,
    blas: ['libopenblas.so.0'],
    referenceBlas: false,
    matmul1024Gflops: 80,
    parameters: { torch: { total: 10 }, typescript: { total: 12, lora: 2 }, match: true },
  }),
  predict: entry('predict', {
    trials: 96,
    singleTrialMs: { p50: 30, p95: 45 },
    singleTrialProfileMs: { encode: { p50: 20 }, dmFeatures: { p50: 0.1 }, model: { p50: 9 } },
    singleTrialWhere: 'encode 70%',
    batch: { uncached: { trialsPerSecond: 50 }, cached: { trialsPerSecond: 250 } },
    batchWhere: 'encode 80%',
    bestBatchTrialsPerSecond: 250,
  }),
  reproduce: entry('reproduce', { measured: true, minutes: 12, seconds: 720, file: 'runs/x/metrics.json', date: '2026-01-01T00:00:00Z', phases: ['I'], quick: false, answersTarget: true }),
});

test('quantiles and stats', () => {
  assert.equal(quantile([3, 1, 2], 0.5), 2);
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.ok(Math.abs(quantile(Array.from({ length: 101 }, (_, i) => i), 0.95) - 95) < 1e-9);
  assert.deepEqual(stats([1, 2, 3]), { n: 3, min: 1, median: 2, p95: 2.9, mean: 2, max: 3 });
});

test('FLOP counts of the criteria LM', () => {
  const c = { vocabSize: 100, dModel: 4, nLayers: 1, nHeads: 1, dFf: 8, maxLen: 8, dropout: 0 };
  // T = 2: qkv 2*2*4*12 = 192, wo 2*2*4*4 = 64, ffn 2*(2*2*4*8) = 256, attention 2*(2*2*2*4) = 64, logits 2*2*4*100 = 1600.
  const f = lmForwardFlops(c, 2, true);
  assert.deepEqual(f, { projections: 512, attention: 64, logits: 1600, total: 2176 });
  assert.equal(lmForwardFlops(c, 2, false).total, 576);
  assert.equal(lmTrainFlops(c, 2), 3 * 2176);
});

test('targets: pass and miss with the right numbers', () => {
  const b = full();
  const d = derive(b);
  assert.equal(d.typescriptOverTorch, 1.2);
  assert.equal(d.lmForwardFractionOfCeiling, 0.15);
  assert.equal(d.peakRssMB, 4500);
  const t = Object.fromEntries(evaluateTargets(b, d).map((x) => [x.target, x]));
  assert.equal(t['CLaDMoP pre-training step vs PyTorch'].status, 'pass');
  assert.equal(t['Single-trial predict p95 (warm)'].status, 'pass');
  assert.equal(t['Batch predict throughput'].status, 'pass');
  assert.equal(t['reproduce --phase I end to end'].status, 'pass');
  assert.equal(t['Peak RSS'].status, 'miss');
  assert.match(t['Peak RSS'].measured, /cladmop-pretrain/);
});

test('targets: missing, not comparable and caveats', () => {
  const b = full();
  b.torch = entry('torch', {}, { status: 'unavailable', reason: 'unavailable: no torch' });
  b.reproduce = entry('reproduce', { measured: true, minutes: 3, file: 'runs/q/metrics.json', date: '2026-01-01T00:00:00Z', phases: ['I', 'II'], quick: true, answersTarget: false });
  b['cladmop-pretrain'] = entry('cladmop-pretrain', { batch: 2, criteriaTokens: 512, ms: { median: 1000, min: 900 }, trialsPerSecond: 2 }, { peakRssMB: 1500 });
  delete b.predict;
  const d = derive(b);
  const t = Object.fromEntries(evaluateTargets(b, d).map((x) => [x.target, x]));
  assert.equal(t['CLaDMoP pre-training step vs PyTorch'].status, 'not measured');
  assert.match(t['CLaDMoP pre-training step vs PyTorch'].note ?? '', /no torch/);
  assert.equal(t['reproduce --phase I end to end'].status, 'not comparable');
  assert.equal(t['Single-trial predict p95 (warm)'].status, 'not measured');
  assert.equal(t['Peak RSS'].status, 'not comparable');
});

test('the Markdown has the machine, the targets and every benchmark', () => {
  const b = full();
  const d = derive(b);
  const doc: BenchDocument = {
    schema: 'cladmop-bench-v1',
    date: '2026-01-01',
    quick: false,
    command: 'npm run bench',
    startedAt: 'a',
    finishedAt: 'b',
    machine: { cpuModel: 'Test CPU', cores: 2, logicalProcessors: 2, cpuFlags: ['avx2'], memoryGiB: 24, os: 'Linux', node: 'v20', packages: { x: '1' }, git: { commit: 'abc', dirty: false } },
    load: { cpuBusyBefore: 0.9, loadAverageBefore: [2, 2, 2], busyProcesses: [{ pid: 1, cpuPercent: 99, rssMB: 1, command: 'trainer' }], underLoad: true },
    benchmarks: b,
    derived: d,
    targets: evaluateTargets(b, d),
  };
  const md = renderMarkdown(doc);
  assert.match(md, /Test CPU/);
  assert.match(md, /Measured under load/);
  assert.match(md, /\| Peak RSS \| <= 4 GB \| 4\.50 GB \(cladmop-pretrain\) \| \*\*MISS\*\*/);
  for (const name of Object.keys(b)) assert.match(md, new RegExp(`\\| ${name} \\|`));
});
