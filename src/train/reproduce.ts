/**
 * `cladmop reproduce`: encoder cache -> pair-matching pre-training (cached) -> LoRA fine-tuning per phase (several
 * seeds) -> evaluation, with the TF-IDF baselines in the same run on the same rows, and the zero-shot
 * pair-matching score. Writes report.md, metrics.json, predictions_test.csv and the model bundle.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { jit, tree, type Array as JaxArray } from '@jax-js/jax';
import { loadSplit, describeSplit, resolveDataDir, type LoadedSplit } from '../data/splits.ts';
import { VERSION } from '../settings.ts';
import type { BenchmarkPhase, LabelledTrial } from '../data/trial.ts';
import { loadEncoder } from '../features/encoder-spec.ts';
import { initCladmop, initLoraParams, ownPairScoresFromGrouped, type DmBatch, type CladmopConfig, type CladmopLora, type CladmopParams } from '../model/cladmop.ts';
import { saveBundle, saveForestBundle, saveLexicalBundle } from '../model/bundle.ts';
import { DEFAULT_TRIAL_TOKEN_OPTIONS } from '../features/tfidf.ts';
import type { RandomForestModel } from '../baselines/random-forest.ts';
import { bootstrapMetrics, allPositiveReference, type BootstrapMetrics } from '../eval/bootstrap.ts';
import { averagePrecision } from '../eval/metrics/average-precision.ts';
import { rocAuc } from '../eval/metrics/roc-auc.ts';
import { f1Score } from '../eval/metrics/f1-score.ts';
import { brierScore } from '../eval/metrics/brier-score.ts';
import { expectedCalibrationError } from '../eval/metrics/expected-calibration-error.ts';
import { applyCalibration, fitPlatt } from '../predict/calibration.ts';
import { runBaseline } from '../baselines/run-baseline.ts';
import { buildReport } from '../report/build-report.ts';
import { readSafetensors } from '../runtime/safetensors.ts';
import { treeFromTensors } from '../runtime/param-tree.ts';
import { runCladmopChild } from '../runtime/child.ts';
import { writeFileAtomic } from '../runtime/atomic-write.ts';
import { prepareTrials, type PreparedTrial } from './prepare.ts';
import { fitStackedLexical, type StackedLexical } from '../model/lexical.ts';
import { pairedBootstrap, type PairedDifference } from '../eval/paired-bootstrap.ts';
import { meanAndStd } from '../eval/stats/mean-and-std.ts';
import { blankDm, dmFeatures } from '../features/dm-features.ts';
import { blankRows, INPUT_FAMILIES, inputUsageTable, type InputFamily, type InputUsageRow } from './input-usage.ts';
import type { FinetuneJobResult } from './finetune-pool.ts';
import { retrievalScore, type PretrainEpoch, type RetrievalScore } from './pretrain.ts';
import { MAIN_VARIANT, variantByName } from './variants.ts';
import { fewShotBaselines, fewShotRuns, newDiseaseRows, scoreSubset, type FewShotResult, type SubsetScores } from './experiments.ts';
import { defaultWorkers, FinetunePool, poolDataFor } from './finetune-pool.ts';
import { cladmopConfigFor, featureContext, MoleculeFeaturizer, planPretraining, subsample } from './run-pretraining.ts';
import { DEFAULT_FINETUNE, finetune, GroupedCriteria, predictProbabilities, scoreGroupedBatches, type FinetuneEpoch } from './finetune.ts';
import { initJax } from '../runtime/jax-init.ts';

/** The paper's table (CLaDMoP, KDD 2025; values as recovered in shared/notes/paper.md). */
export const PAPER_RESULTS: Record<BenchmarkPhase, { f1: number; prAuc: number; rocAuc: number | null; note?: string }> = {
  I: { f1: 0.713, prAuc: 0.68, rocAuc: 0.642 },
  II: { f1: 0.685, prAuc: 0.683, rocAuc: null, note: 'ROC-AUC not recovered (inferred ≈ .646)' },
  III: { f1: 0.861, prAuc: 0.86, rocAuc: 0.702 },
};

export interface ReproduceOptions {
  phases: BenchmarkPhase[];
  outDir: string;
  quick: boolean;
  dataDir?: string;
  encoder: string;
  seeds: number[];
  moleculeSource: 'top' | 'names';
  pretrainEpochs: number;
  /** Ablation variants to run besides the main model (names from train/variants.ts). */
  ablations: string[];
  /** Run the few-shot experiment (default true). */
  fewShot?: boolean;
  /** Fine-tuning worker processes (default: one per core, at most 2; see finetune-pool.ts). */
  workers?: number;
  /**
   * 'default': CLaDMoP with the [ours] lexical level (model/lexical.ts); 'paper': the paper-faithful model
   * without it. Default 'default'.
   */
  variant?: ModelVariant;
  /**
   * With the default variant, also fine-tune the paper variant's seeds (same pre-training, no lexical level) and
   * report it in the same table (default true).
   */
  paperBeside?: boolean;
  /**
   * [ours] How the default variant's deep part is fine-tuned (chosen by scripts/finetune-cv.ts): learning rate,
   * input-family dropout, or reading the criteria only. Default: DEFAULT_DEEP.
   */
  deep?: DeepOptions;
  log: (line: string) => void;
  progress?: (label: string, done: number, total: number) => void;
}

export type ModelVariant = 'default' | 'paper';

export interface DeepOptions {
  lr?: number;
  dmDropout?: number;
  criteriaOnly?: boolean;
}

/**
 * The default variant's deep part, as selected by 5-fold CV on phase I train+valid (results/model_selection,
 * test never read; CV PR-AUC / ROC-AUC): the lexical offset with the deep part at lr 2e-4 .740 / .708, the
 * lexical level alone .736 / .706, at lr 5e-4 .726 / .698, at the paper model's 2e-3 .724 / .693, with input-family
 * dropout .734 / .704, criteria-only .734 / .703 (at lr 2e-4: dropout .737 / .704, criteria-only .734 / .705), late
 * fusion 0.7 x lexical + 0.3 x paper .736 / .698, the paper model .680 / .599. A small learning rate keeps the deep
 * part a small correction of the lexical logit.
 */
export const DEFAULT_DEEP: DeepOptions = { lr: 2e-4 };

/** The paper-faithful variant fine-tuned beside the default one in the same run. */
interface VariantResult {
  perSeed: { seed: number; bestEpoch: number; validPrAuc: number; test: { f1: number; prAuc: number; rocAuc: number } }[];
  ensemble: BootstrapMetrics;
  inputUsage: InputUsageRow[];
}

interface PhaseResult {
  phase: BenchmarkPhase;
  splits: Record<string, { rows: number; positives: number; partial: boolean; note: string }>;
  perSeed: { seed: number; bestEpoch: number; validPrAuc: number; test: { f1: number; prAuc: number; rocAuc: number }; history: FinetuneEpoch[] }[];
  seedSummary: Record<'f1' | 'prAuc' | 'rocAuc', { mean: number; std: number }>;
  ensemble: BootstrapMetrics;
  zeroShot: { prAuc: number; rocAuc: number };
  baselines: { model: string; metrics: BootstrapMetrics }[];
  newDisease: SubsetScores;
  fewShot: FewShotResult[];
  ablations: { name: string; description: string; validPrAuc: number; test: { f1: number; prAuc: number; rocAuc: number }; inputUsage: InputUsageRow[] }[];
  /** Which model the main rows are: 'default' (with the lexical level) or 'paper'. */
  variant: ModelVariant;
  /** [ours] The lexical level: C chosen by CV on train+valid, its CV scores, vocabulary. */
  lexical: { C: number; cv: { meanPrAuc: number; meanRocAuc: number; folds: number }; vocabularySize: number; learnRows: number; maxAbsDiffFromBaselineLr: number | null } | null;
  /** The paper-faithful variant of the same run (when run beside the default one). */
  paperVariant: VariantResult | null;
  /** What the main ensemble uses: each input family blanked at prediction time. */
  inputUsage: InputUsageRow[];
  /** The same for the lexical level alone (= the TF-IDF + LR baseline in a full run). */
  lexicalInputUsage: InputUsageRow[] | null;
  /** Paired bootstrap of (main ensemble − baseline) on the same test rows. */
  paired: { against: string; prAuc: PairedDifference; rocAuc: PairedDifference }[];
  calibration: { method: string; test: { brier: { raw: number; calibrated: number }; ece: { raw: number; calibrated: number } } };
  allPositive: ReturnType<typeof allPositiveReference>;
  seconds: number;
}


/** One fine-tuned ensemble member: its adapters and head on the shared pre-trained base, and its predictions. */
interface Member {
  seed: number;
  lora: CladmopLora;
  head: CladmopParams['head'];
  bestEpoch: number;
  validPrAuc: number;
  validProbs: Float64Array;
  testProbs: Float64Array;
}

/** Element-wise mean of equally long probability vectors. */
function meanOf(xs: Float64Array[]): Float64Array {
  const out = new Float64Array(xs[0].length);
  for (const x of xs) x.forEach((v, i) => (out[i] += v));
  return out.map((v) => v / xs.length);
}


/**
 * Zero-shot success score: each trial's own pair-matching score (no outcome labels), from the criteria already
 * grouped by `grouped` (the pre-trained grouping blocks; the fine-tuning runs use the same). Borrows `params`.
 */
async function zeroShotScores(c: CladmopConfig, params: CladmopParams, trials: PreparedTrial[], grouped: GroupedCriteria, o: { batchSize: number; maxCriteria: number }): Promise<Float64Array> {
  const { grouping: _grouping, ...base } = params;
  const fn = jit((p: CladmopParams, g: JaxArray[], dm: DmBatch) => ownPairScoresFromGrouped(c, p, g, dm));
  const out = await scoreGroupedBatches(c, trials, await grouped.of(trials, o), o.batchSize, (g, dm) => fn(tree.ref({ ...base, grouping: [] }), g, dm));
  fn.dispose();
  return out;
}

/** Suffix of the stages this process runs while the fine-tuning workers run (their seconds overlap that stage's). */
const BESIDE_POOL = ' (beside the fine-tuning workers)';

export async function reproduce(o: ReproduceOptions): Promise<{ metricsFile: string; reportFile: string }> {
  await initJax();
  const started = Date.now();
  // Wall-clock seconds per stage, summed over phases, written to metrics.json (where the time goes).
  const stages: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await f();
    } finally {
      stages[name] = (stages[name] ?? 0) + (Date.now() - t) / 1000;
    }
  };
  const dataDir = resolveDataDir(o.dataDir);
  mkdirSync(o.outDir, { recursive: true });
  const encoder = await loadEncoder(o.encoder);
  o.log(`criteria encoder: ${encoder.name}`);
  const ctx = featureContext(encoder, dataDir, o.moleculeSource, await MoleculeFeaturizer.create());
  const icd = ctx.icd;
  const config = cladmopConfigFor(encoder, icd);
  /** What every bundle of this run records: the encoder it reads, the features' settings, the code version. */
  const bundleCommon = (phase: BenchmarkPhase) => ({
    encoder: { spec: o.encoder, id: encoder.id, name: encoder.name },
    phase,
    dmFeatures: { moleculeSource: o.moleculeSource, nameBuckets: config.nameBuckets },
    maxCriteria: DEFAULT_FINETUNE.maxCriteria,
    codeVersion: VERSION,
  });
  const prep = async (label: string, rows: LabelledTrial[]) =>
    prepareTrials(rows, ctx, (done, total) => o.progress?.(`features ${label}`, done, total));

  // One phase: everything in DIR (DIR/predictions_test.csv, DIR/model/); several: DIR/phase_X/... per phase.
  const phaseDirOf = (phase: BenchmarkPhase) => (o.phases.length === 1 ? o.outDir : path.join(o.outDir, `phase_${phase}`));

  // Which rows every stage uses (quick mode: deterministic small samples).
  const plan = planPretraining({ encoder, dataDir, quick: o.quick, epochs: o.pretrainEpochs, moleculeSource: o.moleculeSource });
  const splitsOf: Record<string, Record<string, LoadedSplit>> = {};
  const rowsOf: Record<string, Record<string, LabelledTrial[]>> = {};
  for (const phase of o.phases) {
    splitsOf[phase] = {};
    rowsOf[phase] = {};
    for (const split of ['train', 'valid', 'test'] as const) {
      const s = loadSplit(phase, split, dataDir);
      splitsOf[phase][split] = s;
      rowsOf[phase][split] = o.quick ? subsample(s.rows, split === 'test' ? 200 : 160, 3) : s.rows;
    }
  }
  // Stage 1 (child process): encode every criteria text not yet in the cache.
  const allRows = [...plan.trials, ...plan.heldOut, ...Object.values(rowsOf).flatMap((r) => Object.values(r).flat())];
  const missing = [...new Set(allRows.map((r) => r.trial.criteria))].filter((t) => !ctx.cache!.has(t));
  if (missing.length > 0) {
    o.log(`encoding ${missing.length} criteria texts with the frozen encoder (child process)`);
    const tmp = path.join(o.outDir, `.texts-${process.pid}.json`);
    writeFileAtomic(tmp, JSON.stringify(missing));
    try {
      await timed('encode criteria (frozen LM)', () => runCladmopChild(['embed', '--texts', tmp, '--encoder', o.encoder]));
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  // Stage 2 (child process): pair-matching pre-training, cached by everything that determines it.
  o.log(`SCT-like corpus: ${plan.sct.stats.total} successful non-test, non-valid trials; ${plan.trials.length} used${o.quick ? ' [quick sample]' : ''}; ${plan.heldOut.length} successful valid trials held out for retrieval`);
  const pretrainCached = existsSync(plan.file);
  if (!pretrainCached) {
    const args = ['pretrain', '--encoder', o.encoder, '--epochs', String(o.pretrainEpochs), '--molecules', o.moleculeSource];
    if (o.quick) args.push('--quick');
    if (o.dataDir) args.push('--data', o.dataDir);
    await timed('pre-training', () => runCladmopChild(args));
  } else o.log(`pre-trained weights reused from ${plan.file}`);
  const f = readSafetensors(plan.file);
  const pretrained: CladmopParams = treeFromTensors(initCladmop(config, 0), f.tensors, 'params', plan.file);
  const pretrainHistory = JSON.parse(f.metadata.history ?? '[]') as PretrainEpoch[];
  // Training time as recorded when the weights were made (0 s here when they came from the cache).
  const pretrainSeconds = pretrainHistory.at(-1)?.seconds ?? 0;
  // Pre-training scores the held-out retrieval after every epoch, the last time with exactly the weights it
  // saves: that score is the model's. Computed here only for weights whose history lacks it.
  const retrieval: RetrievalScore =
    pretrainHistory.at(-1)?.heldOut ??
    (await timed('held-out retrieval', async () => retrievalScore(config, tree.ref(pretrained), await prep('held-out', plan.heldOut), plan.options)));
  const sct = plan.sct;
  const key = plan.key;
  const pretrainOptions = plan.options;

  // ---- per phase ----
  const results: PhaseResult[] = [];
  for (const phase of o.phases) {
    const tPhase = Date.now();
    const loaded = splitsOf[phase];
    for (const split of ['train', 'valid', 'test']) o.log(describeSplit(loaded[split]));
    const rows = (split: string) => rowsOf[phase][split];
    const [train, valid, test] = await timed('features (cached criteria states, molecules, ICD)', async () => [
      await prep(`phase ${phase} train`, rows('train')),
      await prep(`phase ${phase} valid`, rows('valid')),
      await prep(`phase ${phase} test`, rows('test')),
    ]);
    const testLabels = test.map((t) => t.label);
    const variant: ModelVariant = o.variant ?? 'default';
    // [ours] The lexical level: TF-IDF + LR with C chosen by CV on train+valid, cross-fitted offsets for the
    // rows fine-tuning trains and early-stops on, the regression on all of train+valid for test.
    let stacked: StackedLexical | null = null;
    let learnRows: LabelledTrial[] = [];
    if (variant === 'default') {
      const testIds = new Set(rows('test').map((r) => r.trial.nctid));
      const seen = new Set<string>();
      learnRows = [...rows('train'), ...rows('valid')].filter((r) => !testIds.has(r.trial.nctid) && !seen.has(r.trial.nctid) && !!seen.add(r.trial.nctid));
      stacked = await timed('lexical level (TF-IDF + LR: C by 5-fold CV on train+valid, cross-fitted offsets)', async () => fitStackedLexical(learnRows));
      const oof = new Map(learnRows.map((r, i) => [r.trial.nctid, stacked!.outOfFold[i]]));
      for (const t of [...train, ...valid]) t.offset = oof.get(t.nctid);
      const testOffsets = stacked.model.logits(rows('test').map((r) => r.trial));
      test.forEach((t, i) => (t.offset = testOffsets[i]));
      o.log(`lexical level: C = ${stacked.C} (5-fold CV on ${learnRows.length} train+valid rows: PR-AUC ${stacked.cv.meanPrAuc.toFixed(3)}, ROC-AUC ${stacked.cv.meanRocAuc.toFixed(3)}), ${stacked.model.vocabularySize} terms`);
    }
    const paperBeside = variant === 'default' && o.paperBeside !== false;
    const deep: DeepOptions = variant === 'default' ? (o.deep ?? DEFAULT_DEEP) : {};
    // The main model's grouping is frozen in every LoRA run of this phase: group each trial's criteria once.
    const grouped = new GroupedCriteria(config, pretrained.grouping);
    // The seeds and the few-shot draws fine-tune in worker processes (finetune-pool.ts says why), longest runs
    // first; meanwhile this process scores zero-shot and fits the baselines.
    const seeds = o.quick ? o.seeds.slice(0, 1) : o.seeds;
    const ks = o.fewShot === false ? [] : o.quick ? [16] : [16, 64, 256];
    const draws = o.quick ? 1 : 5;
    const totalRuns = seeds.length * (paperBeside ? 2 : 1) + ks.length * draws;
    const poolData = await timed('grouping criteria (frozen grouping blocks, once per trial)', () =>
      poolDataFor(config, { ...DEFAULT_FINETUNE, maxEpochs: o.quick ? 3 : DEFAULT_FINETUNE.maxEpochs }, pretrained, { train, valid, test }, grouped),
    );
    const tPool = Date.now();
    const pool = await FinetunePool.start(poolData, { workers: Math.min(o.workers ?? defaultWorkers(), totalRuns) });
    o.log(`fine-tuning phase ${phase}: ${seeds.length} seed(s)${paperBeside ? ` of the default and of the paper variant` : ''}${ks.length ? ` and ${ks.length * draws} few-shot draws` : ''} in ${pool.size} worker process(es)`);
    let runsDone = 0;
    const counted = <T>(p: Promise<T>): Promise<T> => {
      const q = p.then((r) => {
        o.progress?.(`fine-tune phase ${phase} (runs)`, ++runsDone, totalRuns);
        return r;
      });
      q.catch(() => {}); // awaited later; this only keeps an early failure from being an unhandled rejection
      return q;
    };
    let few: FewShotResult[] = [];
    const perSeed: PhaseResult['perSeed'] = [];
    const members: Member[] = [];
    const paperMembers: Member[] = [];
    let zeroShot: PhaseResult['zeroShot'];
    const baselines: PhaseResult['baselines'] = [];
    const baselineProbs: { method: string; probabilities: number[] }[] = [];
    let inputUsage: InputUsageRow[] = [];
    let lexicalInputUsage: InputUsageRow[] | null = null;
    let paperVariant: VariantResult | null = null;
    const seedTest = (probs: Float64Array) => ({ f1: f1Score(testLabels, probs), prAuc: averagePrecision(testLabels, probs), rocAuc: rocAuc(testLabels, probs) });
    const memberOf = (ft: FinetuneJobResult, seed: number): Member => {
      const trained = treeFromTensors({ lora: initLoraParams(config, 0), head: tree.ref(pretrained.head) }, ft.weights!, '', `fine-tuned weights of seed ${seed}`);
      return { seed, lora: trained.lora, head: trained.head, bestEpoch: ft.bestEpoch, validPrAuc: ft.bestValidPrAuc, validProbs: ft.probabilities.valid!, testProbs: ft.probabilities.test! };
    };
    // Blanked copies of the test trials, per family: the criteria states and grouped criteria are shared with
    // the originals (or, for blanked criteria, one empty text encoded and grouped once).
    const blanked = new Map<InputFamily, PreparedTrial[]>();
    const blankedTrials = async (family: InputFamily, withOffsets: boolean): Promise<PreparedTrial[]> => {
      if (!blanked.has(family)) {
        const rowsB = blankRows(rows('test'), family);
        let criteria = test.map((t) => t.input.criteria);
        let g = await grouped.of(test, DEFAULT_FINETUNE);
        if (family === 'criteria') {
          const [empty] = await prep('blank criteria', rowsB.slice(0, 1));
          const [g0] = await grouped.of([empty], DEFAULT_FINETUNE);
          criteria = test.map(() => empty.input.criteria);
          g = test.map(() => g0);
        }
        const offsets = stacked ? stacked.model.logits(rowsB.map((r) => r.trial)) : null;
        const trials: PreparedTrial[] = rowsB.map((r, i) => ({
          nctid: r.trial.nctid,
          label: r.label,
          input: { criteria: criteria[i], dm: family === 'criteria' ? test[i].input.dm : dmFeatures(r.trial, ctx.featurizer, ctx.icd, ctx.dm) },
          offset: offsets ? offsets[i] : undefined,
        }));
        grouped.preset(trials, g);
        blanked.set(family, trials);
      }
      const trials = blanked.get(family)!;
      if (withOffsets) return trials;
      const plain = trials.map((t) => ({ ...t, offset: undefined }));
      grouped.preset(plain, await grouped.of(trials, DEFAULT_FINETUNE));
      return plain;
    };
    const ensembleOn = async (ms: Member[], given: PreparedTrial[], criteriaOnly = false): Promise<Float64Array> => {
      let trials = given;
      if (criteriaOnly) {
        trials = given.map((t) => ({ ...t, input: { ...t.input, dm: blankDm(t.input.dm, { drugs: true, diseases: true }) } }));
        grouped.preset(trials, await grouped.of(given, DEFAULT_FINETUNE));
      }
      const sum = new Float64Array(trials.length);
      const { head: _head, ...base } = pretrained;
      for (const m of ms) {
        const p = await predictProbabilities(config, { ...tree.ref(base), head: tree.ref(m.head) }, tree.ref(m.lora), trials, DEFAULT_FINETUNE, grouped);
        p.forEach((v, i) => (sum[i] += v));
      }
      return sum.map((v) => v / ms.length);
    };
    const usageOf = async (ms: Member[], full: Float64Array, withOffsets: boolean, criteriaOnly = false): Promise<InputUsageRow[]> => {
      const probs = {} as Record<InputFamily, Float64Array>;
      for (const family of INPUT_FAMILIES) probs[family] = await ensembleOn(ms, await blankedTrials(family, withOffsets), criteriaOnly);
      return inputUsageTable(testLabels, full, probs);
    };
    let ensemble: Float64Array = new Float64Array(test.length);
    try {
      const seedRuns = seeds.map((seed) => counted(pool.run({ seed, predict: ['valid', 'test'], returnWeights: true, ...(variant === 'default' ? deep : {}) })));
      const paperRuns = paperBeside ? seeds.map((seed) => counted(pool.run({ seed, predict: ['valid', 'test'], returnWeights: true, offsets: false }))) : [];
      const fewRuns = fewShotRuns(pool, train.map((t) => t.label), ks, draws, o.quick ? 2 : 20, counted);
      const zs = await timed(`zero-shot${BESIDE_POOL}`, () => zeroShotScores(config, pretrained, test, grouped, DEFAULT_FINETUNE));
      zeroShot = { prAuc: averagePrecision(testLabels, zs), rocAuc: rocAuc(testLabels, zs) };
      // Baselines: same splits; in quick mode scored on the same subsampled test rows.
      for (const model of ['lr', 'forest'] as const) {
        if (o.quick && model === 'forest') continue;
        const bdir = path.join(phaseDirOf(phase), `baseline_${model}`);
        const run = await timed(`baseline TF-IDF + ${model}${BESIDE_POOL}`, () => runBaseline({ phase, model, dataDir, outDir: bdir }));
        const byId = new Map(run.testIds.map((id, i) => [id, run.probabilities[i]]));
        const bp = test.map((t) => byId.get(t.nctid));
        if (bp.some((p) => p === undefined)) throw new Error(`baseline ${model} has no prediction for some phase ${phase} test rows`);
        baselines.push({ model, metrics: bootstrapMetrics(testLabels, bp as number[], { seed: 2023 }) });
        if (model === 'forest') {
          // The forest as a model bundle (predict / serve / evaluate on any trial), as the LR one below.
          saveForestBundle({
            dir: path.join(bdir, 'model'),
            forest: run.final.fitted.model as RandomForestModel,
            text: { tokens: { ...DEFAULT_TRIAL_TOKEN_OPTIONS, ...run.final.tokens }, tfidf: run.final.tfidf },
            icdVocabulary: icd.entries,
            config: {
              ...bundleCommon(phase),
              training: { model: 'TF-IDF + random forest', params: run.metrics.selection.chosen, rows: run.metrics.learnRows.rows, selection: run.metrics.selection.method, quick: o.quick },
              metrics: { test: { f1: run.metrics.test.point.f1, prAuc: run.metrics.test.point.prAuc, rocAuc: run.metrics.test.point.rocAuc } },
            },
          });
        }
        baselineProbs.push({ method: `TF-IDF + ${model === 'lr' ? 'logistic regression' : 'random forest'}`, probabilities: bp as number[] });
      }
      const fewBaselines = await timed(`few-shot TF-IDF baselines${BESIDE_POOL}`, async () => fewShotBaselines(fewRuns.draws, rows('train'), rows('test')));
      for (const [i, seed] of seeds.entries()) {
        const m = memberOf(await seedRuns[i], seed);
        members.push(m);
        perSeed.push({ seed, bestEpoch: m.bestEpoch, validPrAuc: m.validPrAuc, test: seedTest(m.testProbs), history: (await seedRuns[i]).history });
        o.log(`phase ${phase} seed ${seed}: best epoch ${m.bestEpoch} (valid PR-AUC ${m.validPrAuc.toFixed(4)}); test PR-AUC ${perSeed.at(-1)!.test.prAuc.toFixed(4)} ROC-AUC ${perSeed.at(-1)!.test.rocAuc.toFixed(4)}`);
      }
      ensemble = meanOf(members.map((m) => m.testProbs));
      inputUsage = await timed(`input usage (families blanked)${BESIDE_POOL}`, () => usageOf(members, ensemble, variant === 'default', !!deep.criteriaOnly));
      if (stacked) {
        const lexicalProbs = async (trials: PreparedTrial[]) => Float64Array.from(trials, (t) => 1 / (1 + Math.exp(-(t.offset ?? 0))));
        const blankedLex = {} as Record<InputFamily, Float64Array>;
        for (const family of INPUT_FAMILIES) blankedLex[family] = await lexicalProbs(await blankedTrials(family, true));
        lexicalInputUsage = inputUsageTable(testLabels, await lexicalProbs(test), blankedLex);
      }
      if (paperBeside) {
        for (const [i, seed] of seeds.entries()) paperMembers.push(memberOf(await paperRuns[i], seed));
        const paperEnsemble = meanOf(paperMembers.map((m) => m.testProbs));
        paperVariant = {
          perSeed: paperMembers.map((m) => ({ seed: m.seed, bestEpoch: m.bestEpoch, validPrAuc: m.validPrAuc, test: seedTest(m.testProbs) })),
          ensemble: bootstrapMetrics(testLabels, paperEnsemble, { seed: 2023 }),
          inputUsage: await timed(`input usage (families blanked)${BESIDE_POOL}`, () => usageOf(paperMembers, paperEnsemble, false)),
        };
        o.log(`phase ${phase} paper variant (ensemble of ${paperMembers.length}): test PR-AUC ${paperVariant.ensemble.prAuc.point?.toFixed(4)} ROC-AUC ${paperVariant.ensemble.rocAuc.point?.toFixed(4)}`);
      }
      few = await fewRuns.results(fewBaselines, testLabels, o.log);
    } finally {
      pool.close();
      stages['fine-tuning (LoRA seeds + few-shot draws, worker processes)'] = (Date.now() - tPool) / 1000;
    }
    // Calibration of the bundled ensemble: Platt scaling fitted on its valid predictions.
    const validEnsemble = meanOf(members.map((m) => m.validProbs));
    const calibration = fitPlatt(validEnsemble, valid.map((v) => v.label), { fittedOn: 'valid' });
    const calibratedTest = ensemble.map((p) => applyCalibration(calibration, p));
    const calibrationReport = {
      method: 'platt (fitted on valid)',
      test: {
        brier: { raw: brierScore(testLabels, ensemble), calibrated: brierScore(testLabels, calibratedTest) },
        ece: { raw: expectedCalibrationError(testLabels, ensemble), calibrated: expectedCalibrationError(testLabels, calibratedTest) },
      },
    };
    const ensembleMetrics = bootstrapMetrics(testLabels, ensemble, { seed: 2023 });
    const paired = baselineProbs.map((b) => ({ against: b.method, ...pairedBootstrap(testLabels, ensemble, b.probabilities, { seed: 2023 }) }));
    for (const d of paired) o.log(`phase ${phase}: CLaDMoP − ${d.against}: PR-AUC ${d.prAuc.point.toFixed(3)} [${d.prAuc.ci95.map((x) => x.toFixed(3)).join(', ')}], ROC-AUC ${d.rocAuc.point.toFixed(3)} [${d.rocAuc.ci95.map((x) => x.toFixed(3)).join(', ')}]`);
    // In a full run the lexical level's test logit is the TF-IDF + LR baseline of the same run (same features,
    // rows and C): recorded as a check.
    const lrProbs = baselineProbs.find((b) => b.method.includes('logistic'))?.probabilities;
    const maxAbsDiffFromBaselineLr = stacked && lrProbs ? Math.max(...test.map((t, i) => Math.abs(1 / (1 + Math.exp(-(t.offset ?? 0))) - lrProbs[i]))) : null;
    const newDisease = scoreSubset(newDiseaseRows(rows('train'), rows('test')), testLabels, [
      { method: 'CLaDMoP (ours)', probabilities: ensemble },
      ...baselineProbs,
    ]);
    const ablations: PhaseResult['ablations'] = [];
    const tAblations = Date.now();
    for (const name of o.ablations) {
      const variant = variantByName(name);
      if (variant.name === 'main') continue;
      const vConfig = { ...config, ...variant.config };
      let base: CladmopParams;
      if (variant.pretrain) {
        const vPlan = planPretraining({ encoder, dataDir, quick: o.quick, epochs: o.pretrainEpochs, moleculeSource: o.moleculeSource, variant });
        if (!existsSync(vPlan.file)) {
          const args = ['pretrain', '--variant', variant.name, '--encoder', o.encoder, '--epochs', String(o.pretrainEpochs), '--molecules', o.moleculeSource];
          if (o.quick) args.push('--quick');
          if (o.dataDir) args.push('--data', o.dataDir);
          await runCladmopChild(args);
        }
        base = treeFromTensors(initCladmop(vConfig, 0), readSafetensors(vPlan.file).tensors, 'params', vPlan.file);
      } else base = initCladmop(vConfig, 1);
      const full = variant.finetuneMode === 'full';
      const ft = await finetune(base, train, valid, {
        ...DEFAULT_FINETUNE,
        config: vConfig,
        seed: o.seeds[0],
        mode: variant.finetuneMode,
        // Full fine-tuning runs the grouping blocks every step: fewer epochs keep the ablation affordable.
        maxEpochs: o.quick ? 2 : full ? 15 : DEFAULT_FINETUNE.maxEpochs,
        patience: full ? 4 : DEFAULT_FINETUNE.patience,
        log: o.log,
      });
      const score = (trials: PreparedTrial[]) => predictProbabilities(vConfig, tree.ref(ft.params), tree.ref(ft.lora), trials, DEFAULT_FINETUNE);
      const probs = await score(test);
      const blankedProbs = {} as Record<InputFamily, Float64Array>;
      for (const family of INPUT_FAMILIES) blankedProbs[family] = await score(await blankedTrials(family, true));
      tree.dispose([ft.params, ft.lora]);
      const row = { name: variant.name, description: variant.description, validPrAuc: ft.bestValidPrAuc, test: seedTest(probs), inputUsage: inputUsageTable(testLabels, probs, blankedProbs) };
      ablations.push(row);
      o.log(`ablation ${variant.name}: valid PR-AUC ${row.validPrAuc.toFixed(4)}; test PR-AUC ${row.test.prAuc.toFixed(4)} ROC-AUC ${row.test.rocAuc.toFixed(4)}`);
    }
    if (ablations.length > 0) stages['ablations'] = (stages['ablations'] ?? 0) + (Date.now() - tAblations) / 1000;
    // Outputs of this phase.
    const phaseDir = phaseDirOf(phase);
    writeFileAtomic(
      path.join(phaseDir, 'predictions_test.csv'),
      'nctid,probability,label\n' + test.map((t, i) => `${t.nctid},${ensemble[i]},${t.label}`).join('\n') + '\n',
    );
    const result: PhaseResult = {
      phase,
      splits: Object.fromEntries(
        Object.entries(loaded).map(([k, s]) => [k, { rows: o.quick ? rows(k).length : s.rows.length, positives: o.quick ? rows(k).filter((r) => r.label === 1).length : s.positives, partial: s.partial, note: s.note }]),
      ),
      perSeed,
      seedSummary: {
        f1: meanAndStd(perSeed.map((s) => s.test.f1)),
        prAuc: meanAndStd(perSeed.map((s) => s.test.prAuc)),
        rocAuc: meanAndStd(perSeed.map((s) => s.test.rocAuc)),
      },
      ensemble: ensembleMetrics,
      zeroShot,
      baselines,
      newDisease,
      fewShot: few,
      ablations,
      calibration: calibrationReport,
      allPositive: allPositiveReference(testLabels),
      variant,
      lexical: stacked ? { C: stacked.C, cv: stacked.cv, vocabularySize: stacked.model.vocabularySize, learnRows: learnRows.length, maxAbsDiffFromBaselineLr } : null,
      paperVariant,
      inputUsage,
      lexicalInputUsage,
      paired,
      seconds: (Date.now() - tPhase) / 1000,
    };
    results.push(result);
    const { head: _pretrainedHead, ...frozenBase } = pretrained;
    await saveBundle({
      dir: path.join(phaseDir, 'model'),
      params: { ...frozenBase, head: members[0].head },
      members: members.map((m) => ({ lora: m.lora, head: m.head, info: { seed: m.seed, bestEpoch: m.bestEpoch, validPrAuc: m.validPrAuc } })),
      lexical: stacked?.model.state,
      icdVocabulary: icd.entries,
      config: {
        architecture: config,
        ...bundleCommon(phase),
        training: { seeds, variant, finetune: { ...DEFAULT_FINETUNE, ...(deep.lr ? { lr: deep.lr } : {}), ...(deep.dmDropout ? { dmDropout: deep.dmDropout } : {}) }, pretrainKey: key, quick: o.quick },
        ...(deep.criteriaOnly ? { deepInputs: 'criteria' as const } : {}),
        metrics: { validPrAuc: averagePrecision(valid.map((v) => v.label), validEnsemble), test: { f1: ensembleMetrics.f1.point, prAuc: ensembleMetrics.prAuc.point, rocAuc: ensembleMetrics.rocAuc.point } },
        calibration: calibration as unknown as Record<string, unknown>,
      },
    });
    if (stacked) {
      // The TF-IDF + LR baseline as a model bundle (predict / serve / evaluate): the lexical level fitted on
      // train+valid, which is this run's LR baseline in a full run.
      const lrTest = Float64Array.from(test, (t) => 1 / (1 + Math.exp(-(t.offset ?? 0))));
      saveLexicalBundle({
        dir: path.join(phaseDir, 'baseline_lr', 'model'),
        lexical: stacked.model.state,
        icdVocabulary: icd.entries,
        config: {
          ...bundleCommon(phase),
          training: { model: 'TF-IDF + logistic regression', C: stacked.C, rows: learnRows.length, selection: `${stacked.cv.folds}-fold stratified CV on train+valid (seed 2023)`, quick: o.quick },
          metrics: { cv: stacked.cv, test: seedTest(lrTest) },
        },
      });
    }
    tree.dispose([...members, ...paperMembers].map((m) => [m.lora, m.head]));
  }
  // Fields `cladmop report` reads (see report/run-dir.ts), per phase run directory.
  const runFields = (r: PhaseResult) => ({
    phase: r.phase,
    quick: o.quick,
    model: `CLaDMoP (${r.variant === 'paper' ? 'paper variant' : 'ours, with the lexical level'}, ${r.perSeed.length === 1 ? '1 seed' : `ensemble of ${r.perSeed.length} seeds`})`,
    seed: o.seeds[0],
    dataDir,
    splits: r.splits,
    test: {
      partial: r.splits.test.partial,
      point: Object.fromEntries(Object.entries(r.ensemble).map(([k, v]) => [k, v.point])),
      bootstrap: { resamples: 10, fraction: 0.8, seed: 2023 },
    },
    comparison: [
      ...(r.paperVariant ? [{ method: `CLaDMoP, paper variant (no lexical level, ensemble of ${r.paperVariant.perSeed.length})`, f1: r.paperVariant.ensemble.f1.point, prAuc: r.paperVariant.ensemble.prAuc.point, rocAuc: r.paperVariant.ensemble.rocAuc.point, source: 'this run, same pre-training and rows' }] : []),
      ...r.baselines.map((b) => ({ method: `TF-IDF + ${b.model === 'lr' ? 'logistic regression' : 'random forest'}`, f1: b.metrics.f1.point, prAuc: b.metrics.prAuc.point, rocAuc: b.metrics.rocAuc.point, source: 'this run, same test rows' })),
      { method: 'CLaDMoP zero-shot (pair matching)', f1: null, prAuc: r.zeroShot.prAuc, rocAuc: r.zeroShot.rocAuc, source: 'this run' },
      { method: 'CLaDMoP (paper, BioGPT + SCT)', f1: PAPER_RESULTS[r.phase].f1, prAuc: PAPER_RESULTS[r.phase].prAuc, rocAuc: PAPER_RESULTS[r.phase].rocAuc, source: 'arXiv 2505.18527' },
    ],
  });
  const metrics = {
    ...(results.length === 1 ? runFields(results[0]) : {}),
    substitutes: {
      llm: `${encoder.name} instead of BioGPT (no pretrained LLM weights are obtainable offline here)`,
      sct: 'SCT-like corpus built from successful non-test, non-valid TOP trials instead of the paper\'s SCT',
    },
    quick: o.quick,
    encoder: { spec: o.encoder, id: encoder.id },
    moleculeSource: o.moleculeSource,
    pretraining: { corpus: sct.stats, trialsUsed: plan.trials.length, epochs: pretrainOptions.epochs, history: pretrainHistory, retrieval, seconds: pretrainSeconds, cacheKey: key, cached: pretrainCached },
    /** What this run did, so a timing is only compared with runs of the same kind (bench/reproduce.ts). */
    options: { phases: o.phases, seeds: o.quick ? o.seeds.slice(0, 1) : o.seeds, ablations: o.ablations, pretrainEpochs: o.pretrainEpochs, encoder: o.encoder, fewShot: o.fewShot !== false },
    stageSeconds: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, Math.round(v * 10) / 10])),
    phases: results,
    paper: PAPER_RESULTS,
    seconds: (Date.now() - started) / 1000,
  };
  const metricsFile = path.join(o.outDir, 'metrics.json');
  writeFileAtomic(metricsFile, JSON.stringify(metrics, null, 1) + '\n');
  const reportFile = path.join(o.outDir, 'report.md');
  writeFileAtomic(reportFile, renderReport(metrics));
  // The figure report (ROC/PR with bootstrap bands, calibration, thresholds, disease groups) per phase.
  for (const r of results) {
    const dir = phaseDirOf(r.phase);
    if (results.length > 1) writeFileAtomic(path.join(dir, 'metrics.json'), JSON.stringify(runFields(r), null, 1) + '\n');
    writeFileAtomic(path.join(dir, 'training_log.json'), JSON.stringify(Object.fromEntries(r.perSeed.map((s) => [`fine-tuning seed ${s.seed}`, s.history])), null, 1) + '\n');
    try {
      const built = await buildReport({ runDir: dir, dataDir, markdownName: 'report_figures.md' });
      o.log(`figure report: ${built.htmlPath}`);
    } catch (err) {
      o.log(`warning: the figure report for phase ${r.phase} failed: ${(err as Error).message}`);
    }
  }
  return { metricsFile, reportFile };
}

const f3 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(3));
const pm = (m: { mean: number | null; std: number | null }) => `${f3(m.mean)} ± ${f3(m.std)}`;
const signed = (x: number) => `${x >= 0 ? '+' : ''}${f3(x)}`;

export function renderReport(m: {
  substitutes: Record<string, string>;
  quick: boolean;
  pretraining: { corpus: { total: number }; trialsUsed?: number; epochs: number; retrieval: RetrievalScore; seconds: number };
  phases: PhaseResult[];
  seconds: number;
  stageSeconds?: Record<string, number>;
}): string {
  const lines: string[] = [];
  lines.push('# CLaDMoP reproduction on TOP', '');
  if (m.quick) lines.push('> **Quick smoke run**: subsampled data, 1 pre-training epoch, 3 fine-tuning epochs, 1 seed. The numbers are not meaningful.', '');
  lines.push('Substitutes (named in every report):', '');
  for (const v of Object.values(m.substitutes)) lines.push(`- ${v}`);
  lines.push('');
  lines.push('F1 at 0.5 mostly measures prevalence on TOP; **PR-AUC and ROC-AUC decide**. "all-positive" calls every trial a success.', '');
  const used = m.pretraining.trialsUsed ?? m.pretraining.corpus.total;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  lines.push(`Pre-training (pair matching, symmetric InfoNCE, in-batch negatives): ${used} successful trials${used !== m.pretraining.corpus.total ? ` (a sample of the ${m.pretraining.corpus.total} of the SCT-like corpus)` : ''}, ${plural(m.pretraining.epochs, 'epoch')}, ${Math.round(m.pretraining.seconds)} s. Held-out retrieval (criteria -> drugs/diseases among batches of ${m.pretraining.retrieval.batchSize} successful valid trials): top-1 ${(100 * m.pretraining.retrieval.top1).toFixed(1)}% (chance ${(100 * m.pretraining.retrieval.chanceTop1).toFixed(1)}%), top-5 ${(100 * m.pretraining.retrieval.top5).toFixed(1)}% (chance ${(100 * m.pretraining.retrieval.chanceTop5).toFixed(1)}%).`, '');
  for (const r of m.phases) {
    lines.push(`## Phase ${r.phase}`, '');
    for (const [split, s] of Object.entries(r.splits)) lines.push(`- ${split}: ${s.rows} rows${s.partial ? ' **[partial]**' : ''} — ${s.note}`);
    lines.push('');
    lines.push('| method | F1 | PR-AUC | ROC-AUC | source |', '|---|---|---|---|---|');
    const row = (name: string, b: BootstrapMetrics, src: string) =>
      lines.push(`| ${name} | ${f3(b.f1.point)} (${pm(b.f1)}) | ${f3(b.prAuc.point)} (${pm(b.prAuc)}) | ${f3(b.rocAuc.point)} (${pm(b.rocAuc)}) | ${src} |`);
    const mainName = r.variant === 'paper' ? 'CLaDMoP, paper variant (no lexical level)' : 'CLaDMoP (ours: paper model + [ours] lexical level)';
    row(`${mainName}, ${r.perSeed.length === 1 ? '1 seed' : `ensemble of ${r.perSeed.length} seeds`}`, r.ensemble, 'this run: point (bootstrap mean ± std)');
    if (r.perSeed.length > 1) lines.push(`| ${mainName}, across seeds | ${pm(r.seedSummary.f1)} | ${pm(r.seedSummary.prAuc)} | ${pm(r.seedSummary.rocAuc)} | this run: mean ± std over seeds |`);
    if (r.paperVariant) row(`CLaDMoP, paper variant (no lexical level), ${r.paperVariant.perSeed.length === 1 ? '1 seed' : `ensemble of ${r.paperVariant.perSeed.length} seeds`}`, r.paperVariant.ensemble, 'this run, same pre-training and rows');
    for (const b of r.baselines) row(`TF-IDF + ${b.model === 'lr' ? 'logistic regression' : 'random forest'}`, b.metrics, 'this run, same test rows');
    lines.push(`| CLaDMoP zero-shot (pair-matching score, no labels) | – | ${f3(r.zeroShot.prAuc)} | ${f3(r.zeroShot.rocAuc)} | this run |`);
    lines.push(`| all-positive reference | ${f3(r.allPositive.f1)} | ${f3(r.allPositive.prAuc)} | ${f3(r.allPositive.rocAuc)} | this run |`);
    const p = PAPER_RESULTS[r.phase];
    lines.push(`| CLaDMoP (paper, BioGPT + SCT) | ${f3(p.f1)} | ${f3(p.prAuc)} | ${f3(p.rocAuc)} | arXiv 2505.18527${p.note ? `; ${p.note}` : ''} |`);
    lines.push('');
    if (r.lexical) {
      lines.push(
        `[ours] Lexical level: TF-IDF (criteria uni- and bigrams, drug words and names, ICD-10 codes; ${r.lexical.vocabularySize} terms) + L2 logistic regression, C = ${r.lexical.C} chosen by ${r.lexical.cv.folds}-fold CV on ${r.lexical.learnRows} train+valid rows (CV PR-AUC ${f3(r.lexical.cv.meanPrAuc)}, ROC-AUC ${f3(r.lexical.cv.meanRocAuc)}); its logit is a fixed offset of the model's, cross-fitted for the rows fine-tuning trains and early-stops on.` +
          (r.lexical.maxAbsDiffFromBaselineLr !== null ? ` On test it equals the TF-IDF + LR baseline of this run (largest probability difference ${r.lexical.maxAbsDiffFromBaselineLr.toExponential(1)}).` : ''),
        '',
      );
    }
    if (r.paired.length > 0) {
      lines.push('Paired bootstrap of the difference on the same test rows (2,000 resamples; 95% interval; an interval excluding 0 is a real difference):', '');
      lines.push('| CLaDMoP (ours) minus | PR-AUC difference [95% CI] | ROC-AUC difference [95% CI] |', '|---|---|---|');
      const d = (x: PairedDifference) => `${x.point >= 0 ? '+' : ''}${f3(x.point)} [${f3(x.ci95[0])}, ${f3(x.ci95[1])}]`;
      for (const p of r.paired) lines.push(`| ${p.against} | ${d(p.prAuc)} | ${d(p.rocAuc)} |`);
      lines.push('');
    }
    if (r.inputUsage.length > 0) {
      lines.push('What the model uses: each input family blanked at prediction time on the test rows (negative change = the family helps):', '');
      lines.push('| model | blanked | test PR-AUC | change | test ROC-AUC | change | mean abs. change of probability |', '|---|---|---|---|---|---|---|');
      const usage = (name: string, rows: InputUsageRow[]) => {
        for (const u of rows) lines.push(`| ${name} | ${u.blanked} | ${f3(u.prAuc)} | ${u.blanked === 'none' ? '–' : signed(u.deltaPrAuc)} | ${f3(u.rocAuc)} | ${u.blanked === 'none' ? '–' : signed(u.deltaRocAuc)} | ${u.blanked === 'none' ? '–' : f3(u.meanAbsChange)} |`);
      };
      usage(r.variant === 'paper' ? 'CLaDMoP, paper variant' : 'CLaDMoP (ours)', r.inputUsage);
      if (r.paperVariant) usage('CLaDMoP, paper variant', r.paperVariant.inputUsage);
      if (r.lexicalInputUsage) usage('lexical level alone (TF-IDF + LR)', r.lexicalInputUsage);
      for (const a of r.ablations) usage(`ablation ${a.name}`, a.inputUsage);
      lines.push('');
    }
    lines.push(`New diseases (test trials none of whose ICD-10 categories occur in the phase's training split): ${r.newDisease.rows} rows, ${r.newDisease.positives} successes.`, '');
    lines.push('| method | accuracy | PR-AUC |', '|---|---|---|');
    for (const mth of r.newDisease.methods) lines.push(`| ${mth.method} | ${f3(mth.accuracy)} | ${f3(mth.prAuc)} |`);
    lines.push('');
    if (r.fewShot.length > 0) {
      lines.push('Few-shot (k labelled training trials, mean ± std over draws; TF-IDF + LR on the same k trials):', '');
      lines.push('| k | draws | CLaDMoP PR-AUC | CLaDMoP ROC-AUC | TF-IDF LR PR-AUC | TF-IDF LR ROC-AUC |', '|---|---|---|---|---|---|');
      for (const fs of r.fewShot) lines.push(`| ${fs.k} | ${fs.repeats} | ${pm(fs.cladmop.prAuc)} | ${pm(fs.cladmop.rocAuc)} | ${pm(fs.baseline.prAuc)} | ${pm(fs.baseline.rocAuc)} |`);
      lines.push('');
    }
    if (r.ablations.length > 0) {
      const main = r.perSeed[0];
      lines.push(`Ablations (one seed, ${main.seed}; the main model with the same seed for comparison):`, '');
      lines.push('| variant | valid PR-AUC | test F1 | test PR-AUC | test ROC-AUC |', '|---|---|---|---|---|');
      lines.push(`| main: ${MAIN_VARIANT.description} | ${f3(main.validPrAuc)} | ${f3(main.test.f1)} | ${f3(main.test.prAuc)} | ${f3(main.test.rocAuc)} |`);
      for (const a of r.ablations) lines.push(`| ${a.name}: ${a.description} | ${f3(a.validPrAuc)} | ${f3(a.test.f1)} | ${f3(a.test.prAuc)} | ${f3(a.test.rocAuc)} |`);
      lines.push('');
    }
    lines.push(
      `Calibration of the bundled model (${r.calibration.method}): test Brier ${f3(r.calibration.test.brier.raw)} -> ${f3(r.calibration.test.brier.calibrated)}, ECE ${f3(r.calibration.test.ece.raw)} -> ${f3(r.calibration.test.ece.calibrated)}.`,
      '',
    );
    lines.push(`Seeds: ${r.perSeed.map((s) => `${s.seed} (best epoch ${s.bestEpoch}, valid PR-AUC ${f3(s.validPrAuc)}, test PR-AUC ${f3(s.test.prAuc)})`).join('; ')}. ${Math.round(r.seconds)} s.`, '');
  }
  lines.push(`Total time: ${Math.round(m.seconds)} s.`, '');
  if (m.stageSeconds && Object.keys(m.stageSeconds).length > 0) {
    const parts = Object.entries(m.stageSeconds).sort((x, y) => y[1] - x[1]);
    lines.push(`Where the time went (wall-clock, summed over phases): ${parts.map(([k, v]) => `${k} ${Math.round(v)} s`).join('; ')}.`, '');
  }
  return lines.join('\n');
}
