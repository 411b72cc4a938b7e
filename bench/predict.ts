/**
 * Benchmark 5: prediction latency and throughput with a saved model bundle and its criteria LM encoder.
 *
 * Bundle: `--bundle DIR`, else `.scratch/smoke/phase_I/model` when present (a bundle trained with the dev LM
 * `lm:.scratch/lm-dev`; its config names that encoder). Trials: phase I valid split of the TOP data
 * (`CLADMOP_DATA` or ../shared/data/top). No embedding cache: every prediction runs the LM encoder.
 *
 *  - single trial (warm): `predict(model, [trial])` one trial at a time, p50/p95 over the measured trials, after a
 *    warm-up pass over the same trials (jit programs for every LM length bucket and the classifier compiled,
 *    RDKit features memoised), with the model's default batch size 1;
 *  - batch: `predict(model, trials)` for all measured trials in one call, trials/s, with batchSize 1 (the default,
 *    bit-exact per trial) and 16 (bulk setting);
 *  - profile: the same trials through the parts predict() is made of: criteria encoding (LM forward), DM features
 *    (RDKit, n-grams, ICD), the CLaDMoP forward (model.score); per trial and per batch.
 *
 * Uses the predict API of src/predict/ (loadModel, predict); if it cannot be loaded, times the core path instead
 * (loadEncoder + dmFeatures + packBatch + jit(classifyLogits)) and says so in the result.
 *
 *   node bin/run-ts.mjs bench/predict.ts [--quick] [--json] [--bundle DIR] [--trials N]
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { init, jit, numpy as np, tree } from '@jax-js/jax';
import { REPO_ROOT, loadSplit, resolveDataDir } from '../src/data/splits.ts';
import type { Trial } from '../src/data/trial.ts';
import type { EncodedCriteria } from '../src/features/criteria-encoder.ts';
import type { DmFeatures } from '../src/features/dm-features.ts';
import type { TrialInput } from '../src/features/trial-batch.ts';
import { log, numberOption, nowMs, oneLine, round, runBench, stats } from './common.ts';

export const DEFAULT_BUNDLE = path.join(REPO_ROOT, '.scratch/smoke/phase_I/model');

/** What the benchmark times: the end-to-end call and its parts. */
interface Pipeline {
  kind: 'predict-api' | 'core-path';
  encoderName: string;
  /** End to end: probabilities of the trials. */
  predictAll(trials: Trial[]): Promise<number[]>;
  encode(texts: string[]): Promise<EncodedCriteria[]>;
  dm(trials: Trial[]): DmFeatures[];
  score(inputs: TrialInput[]): Promise<Float64Array>;
  dispose(): void;
}

async function apiPipeline(bundle: string, batchSize: number, shareEncoderFrom?: Pipeline & { encoderObj?: unknown }): Promise<Pipeline & { encoderObj: unknown }> {
  const api = await import('../src/predict/index.ts');
  const parts = await import('../src/predict/predict.ts');
  if (typeof api.loadModel !== 'function' || typeof api.predict !== 'function') throw new Error('src/predict has no loadModel/predict');
  const model = await api.loadModel(bundle, { batchSize, ...(shareEncoderFrom ? { encoder: shareEncoderFrom.encoderObj as never } : {}) });
  return {
    kind: 'predict-api',
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

/** The core path without src/predict: encoder + DM features + packBatch + jit(classifyLogits). */
async function corePipeline(bundle: string, batchSize: number, shareEncoderFrom?: Pipeline & { encoderObj?: unknown }): Promise<Pipeline & { encoderObj: unknown }> {
  await init('wasm');
  const { loadBundle } = await import('../src/model/bundle.ts');
  const { classifyLogits } = await import('../src/model/cladmop.ts');
  const { loadEncoder } = await import('../src/features/encoder-spec.ts');
  const { dmFeatures, IcdVocabulary } = await import('../src/features/dm-features.ts');
  const { MoleculeFeaturizer } = await import('../src/features/molecule.ts');
  const { packBatch } = await import('../src/features/trial-batch.ts');
  const b = loadBundle(bundle);
  let spec = b.config.encoder.spec;
  if (spec.startsWith('lm:') && !path.isAbsolute(spec.slice(3))) spec = `lm:${path.resolve(REPO_ROOT, spec.slice(3))}`;
  const encoder = (shareEncoderFrom?.encoderObj as Awaited<ReturnType<typeof loadEncoder>>) ?? (await loadEncoder(spec));
  if (encoder.id !== b.config.encoder.id) throw new Error(`encoder ${encoder.id} is not the bundle's ${b.config.encoder.id}`);
  const featurizer = await MoleculeFeaturizer.create();
  const icd = IcdVocabulary.fromEntries(b.icdVocabulary);
  const c = b.config.architecture;
  const fn = jit((p: typeof b.params, l: typeof b.lora, batch: Parameters<typeof classifyLogits>[3]) => classifyLogits(c, p, l, batch));
  const dmOpts = { moleculeSource: b.config.dmFeatures.moleculeSource, nameBuckets: b.config.dmFeatures.nameBuckets };
  if (dmOpts.moleculeSource !== 'top') throw new Error('core path supports moleculeSource "top" only');
  const score = async (inputs: TrialInput[]) => {
    const out = new Float64Array(inputs.length);
    for (let s = 0; s < inputs.length; s += batchSize) {
      const items = inputs.slice(s, s + batchSize);
      const { batch } = packBatch(items, { size: batchSize, maxCriteria: b.config.maxCriteria });
      const z = (await fn(tree.ref(b.params), tree.ref(b.lora), batch).data()) as Float32Array;
      items.forEach((_, j) => (out[s + j] = 1 / (1 + Math.exp(-z[j]))));
    }
    return out;
  };
  const dm = (trials: Trial[]) => trials.map((t) => dmFeatures(t, featurizer, icd, dmOpts));
  const encode = (texts: string[]) => encoder.encodeMany(texts);
  return {
    kind: 'core-path',
    encoderName: encoder.name,
    encoderObj: encoder,
    async predictAll(trials) {
      const enc = await encode(trials.map((t) => t.criteria));
      const d = dm(trials);
      return Array.from(await score(enc.map((criteria, i) => ({ criteria, dm: d[i] }))));
    },
    encode,
    dm,
    score,
    dispose: () => {
      tree.dispose([b.params, b.lora]);
      fn.dispose();
    },
  };
}

async function pipeline(bundle: string, batchSize: number, notes: string[], share?: Pipeline & { encoderObj?: unknown }) {
  try {
    return await apiPipeline(bundle, batchSize, share);
  } catch (err) {
    notes.push(`predict API not usable (${oneLine((err as Error).message, 160)}): timed the core path instead`);
    return corePipeline(bundle, batchSize, share);
  }
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

  // --- single trial, batch size 1 (the default) ---
  const t0 = nowMs();
  const single = await pipeline(bundle, 1, notes);
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
    await p.predictAll(trials); // warm-up (compiles the batch shapes)
    const s = nowMs();
    await p.predictAll(trials);
    const total = nowMs() - s;
    const result = { trials: trials.length, ms: round(total, 1), trialsPerSecond: round((trials.length * 1000) / total, 2) };
    if (args.quick) return { ...result, profileMs: null };
    let t = nowMs();
    const enc = await p.encode(trials.map((x) => x.criteria));
    const encodeMs = nowMs() - t;
    t = nowMs();
    const d = p.dm(trials);
    const dmMs2 = nowMs() - t;
    t = nowMs();
    await p.score(enc.map((criteria, i) => ({ criteria, dm: d[i] })));
    const scoreMs2 = nowMs() - t;
    return { ...result, profileMs: { encode: round(encodeMs, 1), dmFeatures: round(dmMs2, 1), model: round(scoreMs2, 1) } };
  };
  // Quick mode: the single-trial loop above already ran batch size 1.
  const batch1 = args.quick ? null : await batchRun(single);
  if (batch1) log(`batch (batchSize 1): ${batch1.trialsPerSecond} trials/s`);
  const bulk = await pipeline(bundle, 16, notes, single);
  const batch16 = await batchRun(bulk);
  log(`batch (batchSize 16): ${batch16.trialsPerSecond} trials/s`);
  bulk.dispose();
  single.dispose();

  const enc = msStats(encMs);
  const dm = msStats(dmMs);
  const sc = msStats(scoreMs);
  const bestBatch = Math.max(batch1?.trialsPerSecond ?? 0, batch16.trialsPerSecond);
  const where = (p: { encode: number; dmFeatures: number; model: number } | null) => {
    if (!p) return 'not profiled (quick mode)';
    const tot = p.encode + p.dmFeatures + p.model;
    return `encode ${Math.round((100 * p.encode) / tot)}%, DM features ${Math.round((100 * p.dmFeatures) / tot)}%, model ${Math.round((100 * p.model) / tot)}%`;
  };
  return {
    method:
      `${single.kind === 'predict-api' ? 'predict(model, trials) of src/predict (loadModel, no embedding cache)' : 'core path (loadEncoder + dmFeatures + packBatch + jit classifyLogits)'} ` +
      `on ${trials.length} phase I valid trials with the bundle ${path.relative(REPO_ROOT, bundle) || bundle}. Single: one trial per call, ` +
      `after a warm-up pass over the same trials, ${passes} pass(es), p50/p95. Batch: all ${trials.length} trials in one call after a warm-up call, ` +
      `model batch size ${args.quick ? '16 only (quick)' : '1 and 16'}. Profile: encode / DM features / model timed separately on the same trials${args.quick ? ' (single trials only in quick mode)' : ''}.`,
    metrics: {
      kind: single.kind,
      bundle,
      encoder: single.encoderName,
      trials: trials.length,
      loadSeconds: round(loadMs / 1000, 2),
      warmupPassSeconds: round(warmupMs / 1000, 1),
      singleTrialMs: s1,
      singleTrialProfileMs: { encode: enc, dmFeatures: dm, model: sc },
      singleTrialWhere: where({ encode: enc.p50, dmFeatures: dm.p50, model: sc.p50 }),
      dmFeaturesColdPerTrialMs: round(dmColdPerTrialMs, 2),
      batch: { batchSize1: batch1, batchSize16: batch16 },
      batchWhere: where(batch16.profileMs),
      bestBatchTrialsPerSecond: bestBatch,
    },
  };
});
