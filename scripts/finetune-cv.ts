/**
 * Model selection by 5-fold stratified cross-validation over a phase's train + valid rows (the test split is
 * never read): the 117 valid trials of phase I cannot rank variants (the ablation table showed valid ranking
 * them in the opposite order from test).
 *
 * Per fold: the held-out fold is scored; the other four are split into a training part and an early-stopping part
 * (15%, stratified, seeded), so each fold early-stops inside its own training rows. The lexical level is
 * re-fitted on the four folds alone (C by an inner 5-fold CV, cross-fitted offsets for the training and
 * early-stopping rows, the regression on all four for the held-out fold). Candidates:
 *   paper          CLaDMoP without the lexical level (LoRA + head on the frozen pre-trained base)
 *   offset         CLaDMoP with the lexical logit as a fixed offset, the deep part trained on top (lr 2e-3)
 *   offset-lr5e-4  the same with a 4x lower learning rate (a smaller residual)
 *   offset-dmdrop0.5      offset, with the deep part's drugs+molecules and diseases each dropped from half the
 *                         training rows (input-family dropout)
 *   offset-criteria-only  offset, the deep part reading the criteria only (drugs, molecules, diseases blanked
 *                         for it in training and prediction; the lexical logit still reads them)
 *   paper-dmdrop0.5       the paper model with that input-family dropout
 *   offset-lr2e-4, offset-criteria-only-lr5e-4, offset-criteria-only-lr2e-4, offset-dmdrop0.5-lr2e-4
 *                         the same at lower learning rates
 *   lexical        the lexical level alone (TF-IDF + LR: the baseline's recipe on the same folds)
 *   blend-w        late fusion: w x P(lexical) + (1 - w) x P(paper), w in 0.3 / 0.5 / 0.7 (no extra training)
 * Pre-training is the cached one of `cladmop reproduce` (run it first; it pre-trains on successful non-test,
 * non-valid trials, so held-out folds of train were seen there without labels beyond "successful").
 *
 *   node bin/run-ts.mjs scripts/finetune-cv.ts [--phase I] [--folds 5] [--seeds 1] [--candidates paper,offset,...] [--tag _x] [--out results/model_selection]
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { tree } from '@jax-js/jax';
import { loadSplit, resolveDataDir } from '../src/data/splits.ts';
import { PACKAGE_ROOT as REPO_ROOT } from '../src/settings.ts';
import type { BenchmarkPhase, LabelledTrial } from '../src/data/trial.ts';
import { loadEncoder } from '../src/features/encoder-spec.ts';
import { initCladmop, type CladmopParams } from '../src/model/cladmop.ts';
import { fitStackedLexical } from '../src/model/lexical.ts';
import { stratifiedKFold, deriveSeed, foldIndices } from '../src/baselines/cross-validation.ts';
import { averagePrecision } from '../src/eval/metrics/average-precision.ts';
import { rocAuc } from '../src/eval/metrics/roc-auc.ts';
import { createRng } from '../src/eval/rng.ts';
import { readSafetensors } from '../src/runtime/safetensors.ts';
import { treeFromTensors } from '../src/runtime/param-tree.ts';
import { writeFileAtomic } from '../src/runtime/atomic-write.ts';
import { initJax } from '../src/runtime/jax-init.ts';
import { DEFAULT_PRETRAIN_EPOCHS } from '../src/train/variants.ts';
import { cladmopConfigFor, featureContext, MoleculeFeaturizer, planPretraining } from '../src/train/run-pretraining.ts';
import { prepareTrials, type PreparedTrial } from '../src/train/prepare.ts';
import { DEFAULT_FINETUNE, GroupedCriteria } from '../src/train/finetune.ts';
import { FinetunePool, poolDataFor } from '../src/train/finetune-pool.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
};
const phase = arg('phase', 'I') as BenchmarkPhase;
const nFolds = parseInt(arg('folds', '5'), 10);
const seeds = arg('seeds', '1').split(',').map((x) => parseInt(x, 10));
const outDir = path.resolve(arg('out', path.join(REPO_ROOT, 'results/model_selection')));
const SEED = 2023;

await initJax();
const dataDir = resolveDataDir();
const encoder = await loadEncoder('lm');
const ctx = featureContext(encoder, dataDir, 'top', await MoleculeFeaturizer.create());
const config = cladmopConfigFor(encoder, ctx.icd);
const plan = planPretraining({ encoder, dataDir, quick: false, epochs: DEFAULT_PRETRAIN_EPOCHS, moleculeSource: 'top' });
if (!existsSync(plan.file)) throw new Error(`no cached pre-training at ${plan.file}: run \`npx cladmop reproduce --phase I --out runs/phase_I\` first`);
const pretrained: CladmopParams = treeFromTensors(initCladmop(config, 0), readSafetensors(plan.file).tensors, 'params', plan.file);

// train ∪ valid by id, as the baselines' learn rows.
const seen = new Set<string>();
const learn: LabelledTrial[] = [...loadSplit(phase, 'train', dataDir).rows, ...loadSplit(phase, 'valid', dataDir).rows].filter((r) => !seen.has(r.trial.nctid) && !!seen.add(r.trial.nctid));
const labels = Uint8Array.from(learn, (r) => r.label);
const prepared = await prepareTrials(learn, ctx);
const grouped = new GroupedCriteria(config, pretrained.grouping);
await grouped.of(prepared, DEFAULT_FINETUNE);
console.error(`phase ${phase}: ${learn.length} train+valid rows, ${nFolds} folds; grouped criteria ready`);

const folds = stratifiedKFold(labels, nFolds, createRng(deriveSeed(SEED, 0x5f01d)));
type Scores = { prAuc: number[]; rocAuc: number[] };
const TRAINED: { name: string; offsets: boolean; lr: number; dmDropout?: number; criteriaOnly?: boolean }[] = [
  { name: 'paper', offsets: false, lr: DEFAULT_FINETUNE.lr },
  { name: 'offset', offsets: true, lr: DEFAULT_FINETUNE.lr },
  { name: 'offset-lr5e-4', offsets: true, lr: 5e-4 },
  { name: 'offset-dmdrop0.5', offsets: true, lr: DEFAULT_FINETUNE.lr, dmDropout: 0.5 },
  { name: 'offset-criteria-only', offsets: true, lr: DEFAULT_FINETUNE.lr, criteriaOnly: true },
  { name: 'paper-dmdrop0.5', offsets: false, lr: DEFAULT_FINETUNE.lr, dmDropout: 0.5 },
  { name: 'offset-lr2e-4', offsets: true, lr: 2e-4 },
  { name: 'offset-criteria-only-lr5e-4', offsets: true, lr: 5e-4, criteriaOnly: true },
  { name: 'offset-criteria-only-lr2e-4', offsets: true, lr: 2e-4, criteriaOnly: true },
  { name: 'offset-dmdrop0.5-lr2e-4', offsets: true, lr: 2e-4, dmDropout: 0.5 },
];
const wanted = arg('candidates', 'paper,offset,offset-lr5e-4').split(',');
const trained = TRAINED.filter((t) => wanted.includes(t.name));
if (trained.length !== wanted.length) throw new Error(`--candidates: known ${TRAINED.map((t) => t.name).join(', ')}`);
const BLENDS = trained.some((t) => t.name === 'paper') ? [0.3, 0.5, 0.7] : [];
const candidates = [...trained.map((t) => t.name), 'lexical', ...BLENDS.map((w) => `blend-${w}`)];
const scores: Record<string, Scores> = Object.fromEntries(candidates.map((c) => [c, { prAuc: [], rocAuc: [] }]));
const foldLog: unknown[] = [];
const t0 = Date.now();
for (let f = 0; f < nFolds; f++) {
  const { train: rest, test: held } = foldIndices(folds, f);
  // Early-stopping rows: a stratified 15% of the fold's own training rows.
  const rng = createRng(deriveSeed(SEED, 77, f));
  const restIdx = Array.from(rest);
  const es = new Set<number>();
  for (const cls of [0, 1]) {
    const idx = restIdx.filter((i) => labels[i] === cls);
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    idx.slice(0, Math.round(idx.length * 0.15)).forEach((i) => es.add(i));
  }
  const restRows = restIdx.map((i) => learn[i]);
  const stacked = fitStackedLexical(restRows, { seed: SEED + f });
  const oof = new Map(restIdx.map((i, k) => [i, stacked.outOfFold[k]]));
  const heldLogits = stacked.model.logits(Array.from(held, (i) => learn[i].trial));
  // Per-fold copies carrying this fold's offsets; they share the grouped criteria arrays.
  const copies = async (idx: number[], offsetOf: (i: number, k: number) => number): Promise<PreparedTrial[]> => {
    const part = idx.map((i, k) => ({ ...prepared[i], offset: offsetOf(i, k) }));
    grouped.preset(part, await grouped.of(idx.map((i) => prepared[i]), DEFAULT_FINETUNE));
    return part;
  };
  const trainPart = await copies(restIdx.filter((i) => !es.has(i)), (i) => oof.get(i)!);
  const esPart = await copies(restIdx.filter((i) => es.has(i)), (i) => oof.get(i)!);
  const heldPart = await copies(Array.from(held), (_, k) => heldLogits[k]);
  const heldLabels = heldPart.map((t) => t.label);
  const data = await poolDataFor(config, { ...DEFAULT_FINETUNE }, pretrained, { train: trainPart, valid: esPart, test: heldPart }, grouped);
  const pool = await FinetunePool.start(data, { workers: 2 });
  const runs = trained.flatMap((t) => seeds.map((seed) => ({ c: t.name, seed, p: pool.run({ seed, predict: ['test'], offsets: t.offsets, lr: t.lr, dmDropout: t.dmDropout, criteriaOnly: t.criteriaOnly }) })));
  const fold: Record<string, unknown> = { fold: f, heldRows: held.length, trainRows: trainPart.length, earlyStopRows: esPart.length, C: stacked.C };
  const record = (c: string, probs: ArrayLike<number>, extra: Record<string, unknown> = {}) => {
    const pr = averagePrecision(heldLabels, probs);
    const roc = rocAuc(heldLabels, probs);
    scores[c].prAuc.push(pr);
    scores[c].rocAuc.push(roc);
    fold[c] = { prAuc: pr, rocAuc: roc, ...extra };
  };
  const probsOf: Record<string, Float64Array> = {};
  for (const t of trained) {
    const sum = new Float64Array(held.length);
    const epochs: number[] = [];
    for (const r of runs.filter((x) => x.c === t.name)) {
      const res = await r.p;
      res.probabilities.test!.forEach((v, i) => (sum[i] += v / seeds.length));
      epochs.push(res.bestEpoch);
    }
    probsOf[t.name] = sum;
    record(t.name, sum, { bestEpochs: epochs });
  }
  pool.close();
  const lexProbs = Float64Array.from(heldLogits, (z) => 1 / (1 + Math.exp(-z)));
  record('lexical', lexProbs);
  for (const w of BLENDS) record(`blend-${w}`, lexProbs.map((p, i) => w * p + (1 - w) * probsOf.paper[i]));
  foldLog.push(fold);
  console.error(`fold ${f + 1}/${nFolds} (${Math.round((Date.now() - t0) / 1000)} s): ${JSON.stringify(fold)}`);
}
tree.dispose(pretrained);

const ms = (xs: number[]) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, std: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) };
};
const summary = Object.fromEntries(candidates.map((c) => [c, { prAuc: ms(scores[c].prAuc), rocAuc: ms(scores[c].rocAuc), folds: scores[c].prAuc.length }]));
mkdirSync(outDir, { recursive: true });
const result = { phase, folds: nFolds, seeds, rows: learn.length, earlyStopShare: 0.15, pretrainKey: plan.key, summary, perFold: foldLog, seconds: (Date.now() - t0) / 1000, command: `node bin/run-ts.mjs scripts/finetune-cv.ts --phase ${phase} --folds ${nFolds} --seeds ${seeds.join(',')} --candidates ${wanted.join(',')}` };
const tag = arg('tag', '');
writeFileAtomic(path.join(outDir, `cv_phase_${phase}${tag}.json`), JSON.stringify(result, null, 1) + '\n');
const f3 = (x: number) => x.toFixed(3);
const lines = [
  `# Model selection, phase ${phase}: ${nFolds}-fold stratified CV on train + valid (${learn.length} rows; test never read)`,
  '',
  `Command: \`${result.command}\`; ${Math.round(result.seconds)} s. Each fold early-stops on 15% of its own training rows; the lexical level is re-fitted inside each fold.`,
  '',
  '| candidate | folds | CV PR-AUC (mean ± std) | CV ROC-AUC (mean ± std) |',
  '|---|---|---|---|',
  ...candidates.map((c) => `| ${c} | ${summary[c].folds} | ${f3(summary[c].prAuc.mean)} ± ${f3(summary[c].prAuc.std)} | ${f3(summary[c].rocAuc.mean)} ± ${f3(summary[c].rocAuc.std)} |`),
  '',
];
writeFileAtomic(path.join(outDir, `cv_phase_${phase}${tag}.md`), lines.join('\n'));
console.log(lines.join('\n'));
