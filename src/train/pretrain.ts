/**
 * Pair-matching pre-training (no outcome labels in the loss): symmetric InfoNCE over in-batch pairs of
 * (criteria i, drugs/molecules/diseases j), scored by the cross-encoder `pairLogits`.
 *
 * Checkpoints (weights, Adam moments, state) are written atomically after every epoch; `resume` continues from
 * the last one. Data order is a function of (seed, epoch), so a resumed run equals an uninterrupted one.
 */
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { jit, numpy as np, tree } from '@jax-js/jax';
import { DEFAULT_ADAM } from './adam.ts';
import { DEFAULT_PRETRAIN_EPOCHS } from './variants.ts';
import { flatAdamInit, flattenTree, makeFlatAdamStep, unflattenTree, type FlatAdamState, type FlatAdamStep } from './flat-adam.ts';
import { initCladmop, infoNce, pairLogits, type CladmopBatch, type CladmopConfig, type CladmopParams } from '../model/cladmop.ts';
import { packBatch } from '../features/trial-batch.ts';
import { readSafetensors, writeSafetensors } from '../runtime/safetensors.ts';
import { removeStaleTemps } from '../runtime/atomic-write.ts';
import { treeFromTensors, treeToTensors } from '../runtime/param-tree.ts';
import { createRng } from '../eval/rng.ts';
import type { PreparedTrial } from './prepare.ts';

type NpArray = np.Array;

export interface PretrainOptions {
  config: CladmopConfig;
  seed: number;
  batchSize: number;
  epochs: number;
  lr: number;
  warmupSteps: number;
  weightDecay: number;
  clipNorm: number;
  maxCriteria: number;
  /** Checkpoint file; null = none. */
  checkpoint: string | null;
  resume: boolean;
  log?: (line: string) => void;
  onStep?: (step: number, total: number) => void;
}

export const DEFAULT_PRETRAIN: Omit<PretrainOptions, 'config' | 'checkpoint'> = {
  seed: 2025,
  // Memory (jax-js wasm heap, capped at 4 GiB) limits batch and length: measured peak RSS at B = 16 is 3.2 GB
  // with 512 criteria tokens and 4.8 GB with 768; B = 32 does not fit at all (B^2 cross-encoded pairs).
  batchSize: 16,
  epochs: DEFAULT_PRETRAIN_EPOCHS,
  lr: 1e-3,
  warmupSteps: 50,
  weightDecay: 0.01,
  clipNorm: 1.0,
  maxCriteria: 512,
  resume: true,
};

export interface RetrievalScore {
  /** Criteria -> drugs/diseases: is the true partner ranked first / in the top 5 of the batch? */
  top1: number;
  top5: number;
  loss: number;
  batches: number;
  batchSize: number;
  chanceTop1: number;
  chanceTop5: number;
}

export interface PretrainEpoch {
  epoch: number;
  trainLoss: number;
  heldOut: RetrievalScore;
  seconds: number;
}

export interface PretrainResult {
  params: CladmopParams;
  history: PretrainEpoch[];
}

export function shuffled<T>(items: T[], seed: number): T[] {
  const rng = createRng(seed);
  const a = items.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/**
 * Batches for one epoch: shuffled, then sorted by criteria length inside windows of 8 batches (less padding,
 * fewer compiled shapes), then the batch order shuffled again. Only full batches (in-batch negatives need B).
 */
export function epochBatches(trials: PreparedTrial[], batchSize: number, seed: number): PreparedTrial[][] {
  const order = shuffled(trials, seed);
  const batches: PreparedTrial[][] = [];
  const window = batchSize * 8;
  for (let s = 0; s + batchSize <= order.length; s += window) {
    const chunk = order.slice(s, Math.min(order.length, s + window)).sort((a, b) => a.input.criteria.tokens.length - b.input.criteria.tokens.length);
    for (let b = 0; b + batchSize <= chunk.length; b += batchSize) batches.push(chunk.slice(b, b + batchSize));
  }
  return shuffled(batches, seed + 1);
}

function lrAt(o: PretrainOptions, step: number, total: number): number {
  if (step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
  const t = Math.min(1, (step - o.warmupSteps) / Math.max(1, total - o.warmupSteps));
  return o.lr * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/**
 * The jitted pre-training step: symmetric InfoNCE over pairLogits, its gradient, AdamW with global-norm clipping
 * and weight decay on matrices, on the flat parameter vector (flat-adam.ts says why flat).
 */
export function makePretrainStep(c: CladmopConfig, o: Pick<PretrainOptions, 'weightDecay' | 'clipNorm'>, params: CladmopParams): FlatAdamStep<CladmopBatch> {
  return makeFlatAdamStep(params, (q: CladmopParams, b: CladmopBatch) => infoNce(pairLogits(c, q, b)), { ...DEFAULT_ADAM, weightDecay: o.weightDecay }, o.clipNorm);
}

export function makePairLoss(c: CladmopConfig) {
  return jit((p: CladmopParams, b: CladmopBatch) => infoNce(pairLogits(c, p, b)));
}

export function makePairLogits(c: CladmopConfig) {
  return jit((p: CladmopParams, b: CladmopBatch) => pairLogits(c, p, b));
}

/** Retrieval accuracy of criteria -> DM among held-out batches of successful trials. */
export async function retrievalScore(
  c: CladmopConfig,
  params: CladmopParams,
  trials: PreparedTrial[],
  o: Pick<PretrainOptions, 'batchSize' | 'maxCriteria'>,
  logitsFn = makePairLogits(c),
): Promise<RetrievalScore> {
  const B = o.batchSize;
  let top1 = 0;
  let top5 = 0;
  let loss = 0;
  let batches = 0;
  for (let s = 0; s + B <= trials.length; s += B) {
    const { batch } = packBatch(trials.slice(s, s + B).map((t) => t.input), { size: B, maxCriteria: o.maxCriteria });
    const S = (await logitsFn(tree.ref(params), batch).data()) as Float32Array;
    for (let i = 0; i < B; i++) {
      const row = S.subarray(i * B, (i + 1) * B);
      const better = row.reduce((n, v, j) => n + (j !== i && v > row[i] ? 1 : 0), 0);
      if (better === 0) top1++;
      if (better < 5) top5++;
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((acc, v) => acc + Math.exp(v - max), 0));
      let colMax = -Infinity;
      for (let j = 0; j < B; j++) colMax = Math.max(colMax, S[j * B + i]);
      let colSum = 0;
      for (let j = 0; j < B; j++) colSum += Math.exp(S[j * B + i] - colMax);
      loss += 0.5 * (lse - row[i]) + 0.5 * (colMax + Math.log(colSum) - S[i * B + i]);
    }
    batches++;
  }
  const n = batches * B;
  // Fewer held-out trials than one batch: nothing to score (NaN, and `batches: 0` says why).
  if (n === 0) return { top1: NaN, top5: NaN, loss: NaN, batches: 0, batchSize: B, chanceTop1: 1 / B, chanceTop5: Math.min(1, 5 / B) };
  return { top1: top1 / n, top5: top5 / n, loss: loss / n, batches, batchSize: B, chanceTop1: 1 / B, chanceTop5: Math.min(1, 5 / B) };
}

export async function pretrain(trials: PreparedTrial[], heldOut: PreparedTrial[], o: PretrainOptions): Promise<PretrainResult> {
  const log = o.log ?? (() => {});
  const c = o.config;
  const init = initCladmop(c, o.seed);
  const train = makePretrainStep(c, o, init);
  const { layout } = train;
  let theta = flattenTree(init);
  let adam: FlatAdamState = flatAdamInit(layout.size);
  let history: PretrainEpoch[] = [];
  let startEpoch = 0;
  let step = 0;
  let seconds = 0;
  // The tree view of the current parameters (slices of theta; free to make).
  const paramsNow = () => unflattenTree<CladmopParams>(layout, theta.ref);
  if (o.checkpoint) removeStaleTemps(o.checkpoint);
  if (o.checkpoint && o.resume && existsSync(o.checkpoint)) {
    const ck = readSafetensors(o.checkpoint);
    const state = JSON.parse(ck.metadata.state ?? '{}') as { epoch: number; step: number; history: PretrainEpoch[]; seconds: number; options: string };
    if (state.options !== JSON.stringify(resultOptions(o, trials))) {
      throw new Error(`${o.checkpoint} was written with other pre-training options or data; delete it to start over`);
    }
    const load = (prefix: string, current: NpArray) => flattenTree(treeFromTensors(unflattenTree<CladmopParams>(layout, current), ck.tensors, prefix, o.checkpoint!));
    theta = load('params', theta);
    adam = { m: load('adam_m', adam.m), v: load('adam_v', adam.v), step: (adam.step.dispose(), np.array(state.step)) };
    history = state.history;
    startEpoch = state.epoch;
    step = state.step;
    seconds = state.seconds;
    log(`pre-training resumed at epoch ${startEpoch} from ${o.checkpoint}`);
  }
  const stepsPerEpoch = epochBatches(trials, o.batchSize, o.seed).length;
  const total = stepsPerEpoch * o.epochs;
  const logitsFn = makePairLogits(c);
  for (let epoch = startEpoch; epoch < o.epochs; epoch++) {
    const t0 = Date.now();
    let lossSum = 0;
    const batches = epochBatches(trials, o.batchSize, o.seed * 1000 + epoch);
    for (const items of batches) {
      const { batch } = packBatch(items.map((t) => t.input), { size: o.batchSize, maxCriteria: o.maxCriteria });
      const [theta2, s2, loss] = train.step(theta, adam, lrAt(o, step, total), batch);
      theta = theta2;
      adam = s2;
      const value = (await loss.data())[0];
      if (!Number.isFinite(value)) throw new Error(`pre-training diverged at epoch ${epoch}, step ${step}: loss ${value}`);
      lossSum += value;
      step++;
      o.onStep?.(step, total);
    }
    const now = paramsNow();
    const heldOutScore = await retrievalScore(c, now, heldOut, o, logitsFn);
    tree.dispose(now);
    seconds += (Date.now() - t0) / 1000;
    const entry: PretrainEpoch = { epoch: epoch + 1, trainLoss: lossSum / batches.length, heldOut: heldOutScore, seconds: Math.round(seconds) };
    history.push(entry);
    log(
      `pre-train epoch ${epoch + 1}/${o.epochs}: InfoNCE ${entry.trainLoss.toFixed(3)} (log B = ${Math.log(o.batchSize).toFixed(3)}); held-out top-1 ${(100 * heldOutScore.top1).toFixed(1)}% top-5 ${(100 * heldOutScore.top5).toFixed(1)}% (chance ${(100 * heldOutScore.chanceTop1).toFixed(1)}% / ${(100 * heldOutScore.chanceTop5).toFixed(1)}%)`,
    );
    if (o.checkpoint) {
      // Same tensor names as the tree form (params.*, adam_m.*, adam_v.*): readable without knowing the layout.
      const views = { params: paramsNow(), adam_m: unflattenTree<CladmopParams>(layout, adam.m.ref), adam_v: unflattenTree<CladmopParams>(layout, adam.v.ref) };
      const tensors = await treeToTensors(views);
      tree.dispose(views);
      const state = { epoch: epoch + 1, step, history, seconds, options: JSON.stringify(resultOptions(o, trials)) };
      writeSafetensors(o.checkpoint, tensors, { state: JSON.stringify(state), format: 'cladmop-pretrain-checkpoint-v1' });
    }
  }
  logitsFn.dispose();
  train.dispose();
  tree.dispose(adam);
  return { params: unflattenTree<CladmopParams>(layout, theta), history };
}

/** What determines the result of pre-training (a checkpoint is resumed only under the same). */
export function resultOptions(o: PretrainOptions, trials: PreparedTrial[]): object {
  const { config, seed, batchSize, epochs, lr, warmupSteps, weightDecay, clipNorm, maxCriteria } = o;
  const ids = createHash('sha256').update(trials.map((t) => t.nctid).join(',')).digest('hex');
  return { config, seed, batchSize, epochs, lr, warmupSteps, weightDecay, clipNorm, maxCriteria, trials: ids };
}
