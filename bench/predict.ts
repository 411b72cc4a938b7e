/**
 * Benchmark 5: prediction latency and throughput with a saved model bundle and its criteria encoder, through
 * the predict API of src/predict (loadModel, predict): criteria encoding (the LM in onnxruntime), DM features
 * (RDKit, n-grams, ICD) and the classifier (onnxruntime, fixed 16-row batches).
 *
 * Bundle: `--bundle DIR`, else the shipped models/phase-I, else `.scratch/smoke/phase_I/model`. Trials: phase I valid
 * split of the TOP data (`CLADMOP_DATA` or ../shared/data/top).
 *
 *  - single trial (warm): `predict(model, [trial])` one trial at a time, no embedding cache, p50/p95 after a
 *    warm-up pass over the same trials;
 *  - batch: `predict(model, trials)` for all measured trials in one call, trials/s, without a cache (every
 *    criteria text encoded) and with a warm embedding cache (criteria states read from disk: re-scoring trials
 *    already seen, e.g. a benchmark split or a registry snapshot);
 *  - profile: the parts predict() is made of, timed separately on the same trials.
 *
 *   node bin/run-ts.mjs bench/predict.ts [--quick] [--json] [--bundle DIR] [--trials N]
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { loadSplit, resolveDataDir } from '../src/data/splits.ts';
import { PACKAGE_ROOT } from '../src/settings.ts';
import type { Trial } from '../src/data/trial.ts';
import type { EncodedCriteria } from '../src/features/criteria-encoder.ts';
import type { DmFeatures } from '../src/features/dm-features.ts';
import type { TrialInput } from '../src/features/trial-batch.ts';
import { log, numberOption, nowMs, round, runBench, stats } from './common.ts';

import { DEFAULT_BUNDLE } from './common.ts';

/** What the benchmark times: the end-to-end call and its parts. */
interface Pipeline {
  encoderName: string;
  /** End to end: probabilities of the trials. */
  predictAll(trials: Trial[]): Promise<number[]>;
  encode(texts: string[]): Promise<EncodedCriteria[]>;
  dm(trials: Trial[]): DmFeatures[];
  score(inputs: TrialInput[]): Promise<Float64Array>;
  dispose(): void;
}

async function pipeline(bundle: string, cache: string | false): Promise<Pipeline & { encoderObj: unknown }> {
  const api = await import('../src/predict/index.ts');
  const parts = await import('../src/predict/predict.ts');
  const model = await api.loadModel(bundle, { cache });
  return {
    encoderName: model.encoder.name,
    encoderObj: model.encoder,
    async predictAll(trials) {
      const out = await api.predict(model, trials);
      return out.map((p) => p.probability ?? NaN);
    },
    encode: (texts) => parts.encodeCriteria(model, texts),
    dm: (trials) => trials.map((t) => parts.trialDm(model, { trial: t })),
    score: (inputs) => model.score(inputs),
    dispose: () => model.dispose(),
  };
}

const msStats = (xs: number[]) => {
  const s = stats(xs);
  return { p50: round(s.median, 1), p95: round(s.p95, 1), mean: round(s.mean, 1), min: round(s.min, 1), max: round(s.max, 1), n: s.n };
};

await runBench('predict', async (args, { notes }) => {
  const bundle = path.resolve(args.options.bundle ?? DEFAULT_BUNDLE);
  if (!existsSync(path.join(bundle, 'config.json'))) {
    return { status: 'unavailable', reason: `unavailable: no model bundle at ${bundle} (pass --bundle DIR)`, method: '', metrics: {} };
  }
  const dataDir = resolveDataDir();
  if (!existsSync(dataDir)) return { status: 'unavailable', reason: `unavailable: TOP data directory ${dataDir} not found (set CLADMOP_DATA)`, method: '', metrics: {} };
  const split = loadSplit('I', 'valid', dataDir);
  const nTrials = Math.min(split.rows.length, numberOption(args, 'trials', args.quick ? 4 : 96));
  const trials = split.rows.slice(0, nTrials).map((r) => r.trial);
  log(`bundle ${bundle}; ${trials.length} phase I valid trials`);

  // --- single trial, no cache ---
  const t0 = nowMs();
  const single = await pipeline(bundle, false);
  const loadMs = nowMs() - t0;
  // DM features the first time (RDKit parses each SMILES; results are memoised afterwards).
  const tc = nowMs();
  single.dm(trials);
  const dmColdPerTrialMs = (nowMs() - tc) / trials.length;
  const tw = nowMs();
  for (const t of trials) await single.predictAll([t]);
  const warmupMs = nowMs() - tw;
  log(`warm-up pass over ${trials.length} trials: ${(warmupMs / 1000).toFixed(1)} s`);
  const passes = args.quick ? 1 : 2;
  const singleMs: number[] = [];
  for (let p = 0; p < passes; p++) {
    for (const t of trials) {
      const s = nowMs();
      const probs = await single.predictAll([t]);
      singleMs.push(nowMs() - s);
      if (!Number.isFinite(probs[0])) throw new Error(`no probability for ${t.nctid}`);
    }
  }
  // Profile of the single-trial path.
  const encMs: number[] = [];
  const dmMs: number[] = [];
  const scoreMs: number[] = [];
  for (const t of trials) {
    let s = nowMs();
    const [enc] = await single.encode([t.criteria]);
    encMs.push(nowMs() - s);
    s = nowMs();
    const [d] = single.dm([t]);
    dmMs.push(nowMs() - s);
    s = nowMs();
    await single.score([{ criteria: enc, dm: d }]);
    scoreMs.push(nowMs() - s);
  }
  const s1 = msStats(singleMs);
  log(`single trial: p50 ${s1.p50} ms, p95 ${s1.p95} ms`);

  // --- batches ---
  const batchRun = async (p: Pipeline) => {
    await p.predictAll(trials); // warm-up (fills the cache when there is one)
    const s = nowMs();
    await p.predictAll(trials);
    const total = nowMs() - s;
    return { trials: trials.length, ms: round(total, 1), trialsPerSecond: round((trials.length * 1000) / total, 2) };
  };
  const uncached = await batchRun(single);
  log(`batch, no cache: ${uncached.trialsPerSecond} trials/s`);
  let t = nowMs();
  const encAll = await single.encode(trials.map((x) => x.criteria));
  const encodeAllMs = nowMs() - t;
  t = nowMs();
  const dAll = single.dm(trials);
  const dmAllMs = nowMs() - t;
  t = nowMs();
  await single.score(encAll.map((criteria, i) => ({ criteria, dm: dAll[i] })));
  const scoreAllMs = nowMs() - t;
  const batchProfile = { encode: round(encodeAllMs, 1), dmFeatures: round(dmAllMs, 1), model: round(scoreAllMs, 1) };
  single.dispose();
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'cladmop-bench-cache-'));
  let cached: Awaited<ReturnType<typeof batchRun>>;
  try {
    const withCache = await pipeline(bundle, cacheDir);
    cached = await batchRun(withCache);
    withCache.dispose();
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
  log(`batch, warm embedding cache: ${cached.trialsPerSecond} trials/s`);

  const enc = msStats(encMs);
  const dm = msStats(dmMs);
  const sc = msStats(scoreMs);
  const where = (p: { encode: number; dmFeatures: number; model: number }) => {
    const tot = p.encode + p.dmFeatures + p.model;
    return `encode ${Math.round((100 * p.encode) / tot)}%, DM features ${Math.round((100 * p.dmFeatures) / tot)}%, model ${Math.round((100 * p.model) / tot)}%`;
  };
  return {
    method:
      `predict(model, trials) of src/predict on ${trials.length} phase I valid trials with the bundle ${path.relative(PACKAGE_ROOT, bundle) || bundle}. ` +
      `Single: one trial per call, no embedding cache, after a warm-up pass over the same trials, ${passes} pass(es), p50/p95. ` +
      `Batch: all ${trials.length} trials in one call after a warm-up call, without a cache and with a warm embedding cache. ` +
      'Profile: encode / DM features / model timed separately on the same trials.',
    metrics: {
      bundle,
      encoder: single.encoderName,
      trials: trials.length,
      loadSeconds: round(loadMs / 1000, 2),
      warmupPassSeconds: round(warmupMs / 1000, 1),
      singleTrialMs: s1,
      singleTrialProfileMs: { encode: enc, dmFeatures: dm, model: sc },
      singleTrialWhere: where({ encode: enc.p50, dmFeatures: dm.p50, model: sc.p50 }),
      dmFeaturesColdPerTrialMs: round(dmColdPerTrialMs, 2),
      batch: { uncached, cached, profileMs: batchProfile },
      batchWhere: where(batchProfile),
      bestBatchTrialsPerSecond: Math.max(uncached.trialsPerSecond, cached.trialsPerSecond),
    },
  };
});
