/**
 * Per-phase fine-tuning (PEFT): LoRA adapters (rank 8) on every attention of the Drug-Molecule branch plus the
 * 3-layer residual ReLU head are trained; all base weights stay frozen. Loss: BCE with
 * pos_weight = negatives / positives of the training split. Model selection and early stopping on the valid
 * split only (PR-AUC). `mode: 'full'` trains every weight instead (ablation).
 *
 * In LoRA mode the grouping blocks are frozen, so each trial's grouped criteria (3 levels x 25 tokens) are
 * computed once and reused: an epoch then only runs the small DM branch.
 */
import { jit, numpy as np, tree } from '@jax-js/jax';
import { DEFAULT_ADAM } from './adam.ts';
import { flatAdamInit, flattenTree, makeFlatAdamStep, unflattenTree } from './flat-adam.ts';
import {
  classifyFromGrouped,
  classifyLogits,
  groupCriteria,
  initLoraParams,
  weightedBce,
  type CladmopBatch,
  type CladmopConfig,
  type CladmopLora,
  type CladmopParams,
  type CriteriaBatch,
  type DmBatch,
  type LevelGroupingParams,
} from '../model/cladmop.ts';
import { packBatch, packCriteria, packDm, packGrouped } from '../features/trial-batch.ts';
import { averagePrecision } from '../eval/metrics/average-precision.ts';
import { rocAuc } from '../eval/metrics/roc-auc.ts';
import { treeFromTensors, treeToTensors } from '../runtime/param-tree.ts';
import type { Tensor } from '../runtime/safetensors.ts';
import { epochBatches } from './pretrain.ts';
import { createRng } from '../eval/rng.ts';
import { blankDm, type DmFeatures } from '../features/dm-features.ts';
import type { PreparedTrial } from './prepare.ts';

type NpArray = np.Array;

export interface FinetuneOptions {
  config: CladmopConfig;
  seed: number;
  mode: 'lora' | 'full';
  batchSize: number;
  maxEpochs: number;
  patience: number;
  lr: number;
  weightDecay: number;
  clipNorm: number;
  maxCriteria: number;
  log?: (line: string) => void;
  onEpoch?: (epoch: number, total: number) => void;
  /**
   * [ours] Input-family dropout on the Drug-Molecule branch: each training row's drugs + molecules, and
   * independently its diseases, are blanked with this probability (seeded per epoch). 0 (default) = off.
   */
  dmDropout?: number;
  /**
   * LoRA mode: grouped criteria already computed with the same frozen grouping weights as `pretrained`'s
   * (several seeds and few-shot draws fine-tune from one pre-trained model; see GroupedCriteria).
   */
  grouped?: GroupedCriteria;
}

export const DEFAULT_FINETUNE: Omit<FinetuneOptions, 'config'> = {
  seed: 1,
  mode: 'lora',
  // Same batch shape as pre-training, so the jax-js heap reuses its buffers (see features/trial-batch.ts).
  batchSize: 16,
  maxEpochs: 40,
  patience: 8,
  lr: 2e-3,
  weightDecay: 0.01,
  clipNorm: 1.0,
  maxCriteria: 512,
};

type Head = CladmopParams['head'];
type Base = Omit<CladmopParams, 'head'>;
/** What fine-tuning trains. In LoRA mode the base is frozen; in full mode it is trained too. */
export type Trainable = { lora: CladmopLora; head: Head; base?: Base };

export interface FinetuneEpoch {
  epoch: number;
  trainLoss: number;
  validPrAuc: number;
  validRocAuc: number;
}

export interface FinetuneResult {
  params: CladmopParams;
  lora: CladmopLora;
  bestEpoch: number;
  bestValidPrAuc: number;
  history: FinetuneEpoch[];
  posWeight: number;
}

type BatchOpts = Pick<FinetuneOptions, 'batchSize' | 'maxCriteria'>;

/**
 * Grouped criteria of every trial (host arrays, per level K x d), with the given (frozen) grouping blocks.
 * `grouping` is borrowed, not consumed (unlike most functions here): the caller keeps and disposes it.
 */
export async function groupAll(c: CladmopConfig, grouping: LevelGroupingParams[], trials: PreparedTrial[], o: BatchOpts): Promise<Float32Array[][]> {
  const fn = jit((g: LevelGroupingParams[], b: CriteriaBatch) => groupCriteria(c, g, b.crit, b.critMask, b.critSegment));
  const out: Float32Array[][] = new Array(trials.length);
  const order = trials.map((_, i) => i).sort((a, b) => trials[a].input.criteria.tokens.length - trials[b].input.criteria.tokens.length);
  for (let s = 0; s < order.length; s += o.batchSize) {
    const idx = order.slice(s, s + o.batchSize);
    const { batch } = packCriteria(idx.map((i) => trials[i].input.criteria), { size: o.batchSize, maxCriteria: o.maxCriteria });
    const levels = fn(tree.ref(grouping), batch) as NpArray[];
    const data = await Promise.all(levels.map((l) => l.data() as Promise<Float32Array>));
    const per = data.map((d) => d.length / o.batchSize);
    idx.forEach((i, j) => {
      out[i] = data.map((d, l) => d.slice(j * per[l], (j + 1) * per[l]));
    });
  }
  fn.dispose();
  return out;
}

/**
 * Each trial's grouped criteria under one set of frozen grouping weights, computed on first use and kept.
 * In LoRA fine-tuning the grouping blocks never change, and running them is most of the cost of scoring a
 * trial, so the seeds, the few-shot draws, calibration and the test predictions of a phase all share one.
 * `grouping` is borrowed: its owner keeps it alive while this is used. Trials are keyed by object identity.
 */
export class GroupedCriteria {
  private readonly byTrial = new Map<PreparedTrial, Float32Array[]>();

  /** `grouping` null: only trials given to `preset` can be asked for (a fine-tuning worker, see finetune-pool.ts). */
  constructor(
    readonly config: CladmopConfig,
    private readonly grouping: LevelGroupingParams[] | null,
  ) {}

  /** Records grouped criteria computed elsewhere (by the same grouping weights). */
  preset(trials: PreparedTrial[], grouped: Float32Array[][]): void {
    trials.forEach((t, i) => this.byTrial.set(t, grouped[i]));
  }

  async of(trials: PreparedTrial[], o: BatchOpts): Promise<Float32Array[][]> {
    const missing = [...new Set(trials.filter((t) => !this.byTrial.has(t)))];
    if (missing.length > 0) {
      if (!this.grouping) throw new Error(`grouped criteria of ${missing[0].nctid} were not given and there are no grouping weights to compute them`);
      const computed = await groupAll(this.config, this.grouping, missing, o);
      missing.forEach((t, i) => this.byTrial.set(t, computed[i]));
    }
    return trials.map((t) => this.byTrial.get(t)!);
  }

  get size(): number {
    return this.byTrial.size;
  }
}

/** Shape of one trial's grouped criteria per level: [K, d] with K the last grouping layer's centroids. */
function groupedShapes(c: CladmopConfig): [number, number][] {
  return c.levels.map(() => [c.centroids[c.centroids.length - 1], c.dModel]);
}

/**
 * Probabilities of success (eval mode). Consumes `params` and `lora`. `grouped`, when given, must come from
 * the same grouping weights as `params.grouping` (see GroupedCriteria).
 */
export async function predictProbabilities(
  c: CladmopConfig,
  params: CladmopParams,
  lora: CladmopLora,
  trials: PreparedTrial[],
  o: BatchOpts,
  groupedMemo?: GroupedCriteria,
): Promise<Float64Array> {
  const { grouping, ...rest } = params;
  const grouped = groupedMemo ? await groupedMemo.of(trials, o) : await groupAll(c, grouping, trials, o);
  tree.dispose(grouping);
  const probs = await predictFromGrouped(c, { ...rest, grouping: [] }, lora, trials, grouped, o);
  return probs;
}

const classifierFromGrouped = (c: CladmopConfig) =>
  jit((p: CladmopParams, l: CladmopLora, g: NpArray[], dm: DmBatch) => classifyFromGrouped(c, p, l, g, dm));

/** Probabilities from precomputed grouped criteria. Consumes `params` (grouping empty) and `lora`. */
async function predictFromGrouped(
  c: CladmopConfig,
  params: CladmopParams,
  lora: CladmopLora,
  trials: PreparedTrial[],
  grouped: Float32Array[][],
  o: BatchOpts,
  fn = classifierFromGrouped(c),
): Promise<Float64Array> {
  const logits = await scoreGroupedBatches(c, trials, grouped, o.batchSize, (g, dm) => fn(tree.ref(params), tree.ref(lora), g, dm));
  tree.dispose(params);
  tree.dispose(lora);
  return logits.map((z, i) => 1 / (1 + Math.exp(-(z + (trials[i].offset ?? 0)))));
}

/**
 * One value per trial from `score` over batches of grouped criteria + DM features. A last, short batch is padded
 * with copies of its first trial: fixed shapes, one compiled program.
 */
export async function scoreGroupedBatches(
  c: CladmopConfig,
  trials: PreparedTrial[],
  grouped: Float32Array[][],
  batchSize: number,
  score: (g: NpArray[], dm: DmBatch) => NpArray,
): Promise<Float64Array> {
  const out = new Float64Array(trials.length);
  for (let s = 0; s < trials.length; s += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, trials.length - s) }, (_, j) => s + j);
    const rows = Array.from({ length: batchSize }, (_, j) => idx[j] ?? idx[0]);
    const g = packGrouped(rows.map((i) => grouped[i]), groupedShapes(c));
    const dm = packDm(rows.map((i) => trials[i].input.dm));
    const z = (await score(g, dm).data()) as Float32Array;
    idx.forEach((i, j) => (out[i] = z[j]));
  }
  return out;
}

type FullArgs = { b: CladmopBatch; y: NpArray; w: NpArray; off: NpArray };
/**
 * Arguments of a LoRA step: frozen weights (grouping left out), grouped criteria, DM batch, labels, row weights,
 * and each row's fixed logit offset (the lexical level, model/lexical.ts; zeros without it).
 */
export type LoraArgs = { f: Base; g: NpArray[]; dm: DmBatch; y: NpArray; w: NpArray; off: NpArray };

/** The jitted LoRA fine-tuning step: weighted BCE of classifyFromGrouped, AdamW on adapters + head (flat). */
export function makeLoraFinetuneStep(c: CladmopConfig, trainable: Trainable, posWeight: number, o: Pick<FinetuneOptions, 'weightDecay' | 'clipNorm'>) {
  return makeFlatAdamStep(
    trainable,
    (tt: Trainable, a: LoraArgs) => weightedBce(classifyFromGrouped(c, { ...a.f, head: tt.head }, tt.lora, a.g, a.dm).add(a.off), a.y, posWeight, a.w),
    { ...DEFAULT_ADAM, weightDecay: o.weightDecay },
    o.clipNorm,
  );
}

function dropFamilies(dm: DmFeatures, rng: () => number, p: number): DmFeatures {
  const drugs = rng() < p;
  const diseases = rng() < p;
  return drugs || diseases ? blankDm(dm, { drugs, diseases }) : dm;
}

export async function finetune(pretrained: CladmopParams, train: PreparedTrial[], valid: PreparedTrial[], o: FinetuneOptions): Promise<FinetuneResult> {
  const log = o.log ?? (() => {});
  const c = o.config;
  const positives = train.filter((t) => t.label === 1).length;
  const posWeight = (train.length - positives) / Math.max(1, positives);
  const { head, ...base } = pretrained;
  const trainable: Trainable = { lora: initLoraParams(c, o.seed), head };
  // jax-js trees cannot hold null, so "nothing frozen" (full fine-tuning) is an empty object.
  let frozen: Partial<Base> = base;
  let groupedTrain: Float32Array[][] | null = null;
  let groupedValid: Float32Array[][] | null = null;
  // LoRA mode: the frozen grouping blocks stay out of the jitted step (their outputs are precomputed).
  let grouping: LevelGroupingParams[] = [];
  if (o.mode === 'full') {
    trainable.base = base;
    frozen = {};
  } else {
    grouping = base.grouping;
    // groupAll borrows `grouping` (does not consume it): passing tree.ref(grouping) leaked two references to
    // every grouping weight, so the returned params could never be freed.
    groupedTrain = o.grouped ? await o.grouped.of(train, o) : await groupAll(c, grouping, train, o);
    groupedValid = o.grouped ? await o.grouped.of(valid, o) : await groupAll(c, grouping, valid, o);
    frozen = { ...base, grouping: [] };
  }
  // Full mode: the whole model on criteria batches. LoRA mode: DM branch + head on grouped criteria. Both on
  // the flat vector of the trainable tree (flat-adam.ts says why).
  const adamConfig = { ...DEFAULT_ADAM, weightDecay: o.weightDecay };
  const train1 =
    o.mode === 'full'
      ? makeFlatAdamStep(trainable, (tt: Trainable, a: FullArgs) => weightedBce(classifyLogits(c, { ...tt.base!, head: tt.head }, tt.lora, a.b).add(a.off), a.y, posWeight, a.w), adamConfig, o.clipNorm)
      : null;
  const trainLora =
    o.mode === 'full'
      ? null
      : makeLoraFinetuneStep(c, trainable, posWeight, o);
  const layout = (train1 ?? trainLora)!.layout;
  let theta = flattenTree(trainable);
  let adam = flatAdamInit(layout.size);
  /** The trainable tree as views of theta (the caller consumes or disposes it). */
  const view = () => unflattenTree<Trainable>(layout, theta.ref);
  const validFn = classifierFromGrouped(c);

  let best: { epoch: number; prAuc: number; tensors: Record<string, Tensor> } | null = null;
  const history: FinetuneEpoch[] = [];
  const validLabels = valid.map((v) => v.label);
  const index = new Map(train.map((t, i) => [t, i]));
  for (let epoch = 0; epoch < o.maxEpochs; epoch++) {
    let lossSum = 0;
    let n = 0;
    // Every training trial is used each epoch: the remainder forms a last, padded batch (rows weighted 0).
    const batches = epochBatches(train, o.batchSize, o.seed * 7919 + epoch);
    const dropRng = o.dmDropout ? createRng(o.seed * 104729 + epoch) : null;
    const used = new Set(batches.flat());
    const rest = train.filter((t) => !used.has(t));
    if (rest.length > 0) batches.push(rest);
    for (const items of batches) {
      const labels = np.array(Float32Array.from({ length: o.batchSize }, (_, i) => items[i]?.label ?? 0));
      const weights = np.array(Float32Array.from({ length: o.batchSize }, (_, i) => (i < items.length ? 1 : 0)));
      const offsets = np.array(Float32Array.from({ length: o.batchSize }, (_, i) => items[i]?.offset ?? 0));
      let loss: NpArray;
      if (train1) {
        const { batch } = packBatch(items.map((t) => t.input), { size: o.batchSize, maxCriteria: o.maxCriteria });
        [theta, adam, loss] = train1.step(theta, adam, o.lr, { b: batch, y: labels, w: weights, off: offsets });
      } else {
        const rows = Array.from({ length: o.batchSize }, (_, i) => items[i] ?? items[0]);
        const g = packGrouped(rows.map((t) => groupedTrain![index.get(t)!]), groupedShapes(c));
        const dm = packDm(rows.map((t) => (dropRng ? dropFamilies(t.input.dm, dropRng, o.dmDropout!) : t.input.dm)));
        [theta, adam, loss] = trainLora!.step(theta, adam, o.lr, { f: tree.ref(frozen) as Base, g, dm, y: labels, w: weights, off: offsets });
      }
      lossSum += (await loss.data())[0] * items.length;
      n += items.length;
    }
    let probs: Float64Array;
    const t = view();
    if (o.mode === 'full') {
      probs = await predictProbabilities(c, { ...t.base!, head: t.head }, t.lora, valid, o);
    } else {
      const p = { ...tree.ref(frozen), head: t.head } as CladmopParams;
      probs = await predictFromGrouped(c, p, t.lora, valid, groupedValid!, o, validFn);
    }
    const prAuc = averagePrecision(validLabels, probs);
    const auc = rocAuc(validLabels, probs);
    history.push({ epoch: epoch + 1, trainLoss: lossSum / n, validPrAuc: prAuc, validRocAuc: auc });
    log(`fine-tune epoch ${epoch + 1}: loss ${(lossSum / n).toFixed(4)} valid PR-AUC ${prAuc.toFixed(4)} ROC-AUC ${auc.toFixed(4)}`);
    o.onEpoch?.(epoch + 1, o.maxEpochs);
    if (!best || prAuc > best.prAuc) {
      const now = view();
      best = { epoch: epoch + 1, prAuc, tensors: await treeToTensors(now) };
      tree.dispose(now);
    } else if (epoch + 1 - best.epoch >= o.patience) break;
  }
  tree.dispose(adam);
  train1?.dispose();
  trainLora?.dispose();
  const restored = treeFromTensors(view(), best!.tensors, '', 'best epoch');
  theta.dispose();
  let params: CladmopParams;
  if (o.mode === 'full') params = { ...restored.base!, head: restored.head };
  else params = { ...(frozen as Base), grouping, head: restored.head };
  return { params, lora: restored.lora, bestEpoch: best!.epoch, bestValidPrAuc: best!.prAuc, history, posWeight };
}
