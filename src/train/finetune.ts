/**
 * Per-phase fine-tuning (PEFT): LoRA adapters (rank 8) on every attention of the Drug-Molecule branch plus the
 * 3-layer residual ReLU head are trained; all base weights stay frozen. Loss: BCE with
 * pos_weight = negatives / positives of the training split. Model selection and early stopping on the valid
 * split only (PR-AUC). `mode: 'full'` trains every weight instead (ablation).
 */
import { jit, numpy as np, tree, valueAndGrad } from '@jax-js/jax';
import { adamInit, adamUpdate, DEFAULT_ADAM, type AdamState } from './adam.ts';
import { classifyLogits, initLoraParams, weightedBce, type CladmopBatch, type CladmopConfig, type CladmopLora, type CladmopParams } from '../model/cladmop.ts';
import { packBatch } from '../features/trial-batch.ts';
import { averagePrecision } from '../eval/metrics/average-precision.ts';
import { rocAuc } from '../eval/metrics/roc-auc.ts';
import { treeFromTensors, treeToTensors } from '../runtime/param-tree.ts';
import type { Tensor } from '../runtime/safetensors.ts';
import { epochBatches } from './pretrain.ts';
import type { PreparedTrial } from './prepare.ts';

type Array = np.Array;

export interface FinetuneOptions {
  config: CladmopConfig;
  seed: number;
  mode: 'lora' | 'full';
  batchSize: number;
  maxEpochs: number;
  patience: number;
  lr: number;
  headLr: number;
  weightDecay: number;
  clipNorm: number;
  lengthBucket: number;
  maxCriteria: number;
  log?: (line: string) => void;
  onEpoch?: (epoch: number, total: number) => void;
}

export const DEFAULT_FINETUNE: Omit<FinetuneOptions, 'config'> = {
  seed: 1,
  mode: 'lora',
  batchSize: 32,
  maxEpochs: 30,
  patience: 6,
  lr: 2e-3,
  headLr: 2e-3,
  weightDecay: 0.01,
  clipNorm: 1.0,
  lengthBucket: 128,
  maxCriteria: 1024,
};

/** What fine-tuning trains. In LoRA mode `base` is frozen; in full mode everything is in `base`. */
export type Trainable = { lora: CladmopLora; head: CladmopParams['head']; base?: Omit<CladmopParams, 'head'> };

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

function splitParams(p: CladmopParams): { head: CladmopParams['head']; rest: Omit<CladmopParams, 'head'> } {
  const { head, ...rest } = p;
  return { head, rest };
}

/** Probabilities of success for prepared trials (eval mode). Consumes `params` and `lora`. */
export async function predictProbabilities(
  c: CladmopConfig,
  params: CladmopParams,
  lora: CladmopLora,
  trials: PreparedTrial[],
  o: Pick<FinetuneOptions, 'batchSize' | 'lengthBucket' | 'maxCriteria'>,
  logitsFn = makeClassifier(c),
): Promise<Float64Array> {
  const out = new Float64Array(trials.length);
  // Sort by length so each batch pads little; results go back to input order.
  const order = trials.map((_, i) => i).sort((a, b) => trials[a].input.criteria.tokens.length - trials[b].input.criteria.tokens.length);
  for (let s = 0; s < order.length; s += o.batchSize) {
    const idx = order.slice(s, s + o.batchSize);
    const { batch } = packBatch(idx.map((i) => trials[i].input), { size: o.batchSize, lengthBucket: o.lengthBucket, maxCriteria: o.maxCriteria });
    const z = (await logitsFn(tree.ref(params), tree.ref(lora), batch).data()) as Float32Array;
    idx.forEach((i, j) => {
      out[i] = 1 / (1 + Math.exp(-z[j]));
    });
  }
  tree.dispose(params);
  tree.dispose(lora);
  return out;
}

export function makeClassifier(c: CladmopConfig) {
  return jit((p: CladmopParams, l: CladmopLora, b: CladmopBatch) => classifyLogits(c, p, l, b));
}

export async function finetune(
  pretrained: CladmopParams,
  train: PreparedTrial[],
  valid: PreparedTrial[],
  o: FinetuneOptions,
): Promise<FinetuneResult> {
  const log = o.log ?? (() => {});
  const c = o.config;
  const positives = train.filter((t) => t.label === 1).length;
  const posWeight = (train.length - positives) / Math.max(1, positives);
  const { head, rest } = splitParams(pretrained);
  let trainable: Trainable = { lora: initLoraParams(c, o.seed), head };
  // jax-js trees cannot hold null, so "nothing frozen" (full fine-tuning) is an empty object.
  let frozen: Partial<Omit<CladmopParams, 'head'>> = rest;
  if (o.mode === 'full') {
    trainable.base = rest;
    frozen = {};
  }
  let adam: AdamState<Trainable> = adamInit(tree.ref(trainable));
  const lossFn = (t: Trainable, f: Partial<Omit<CladmopParams, 'head'>>, b: CladmopBatch, y: Array, w: Array) => {
    // Full mode also trains the LoRA adapters (they start at zero, so this only reparametrises): one code path.
    const params = { ...(t.base ?? f), head: t.head } as CladmopParams;
    return weightedBce(classifyLogits(c, params, t.lora, b), y, posWeight, w);
  };
  const decay = tree.map((a: Array) => a.shape.length >= 2, trainable as never) as never;
  const step = jit((t: Trainable, f: Partial<Omit<CladmopParams, 'head'>>, s: AdamState<Trainable>, b: CladmopBatch, y: Array, w: Array, lr: Array) => {
    const [loss, grads] = valueAndGrad((tt: Trainable) => lossFn(tt, f, b, y, w))(tree.ref(t));
    const [t2, s2, norm] = adamUpdate(t, grads, s, lr, { ...DEFAULT_ADAM, weightDecay: o.weightDecay }, o.clipNorm, decay);
    norm.dispose();
    return [t2, s2, loss] as [Trainable, AdamState<Trainable>, Array];
  });
  const classifier = makeClassifier(c);
  const full = (t: Trainable): CladmopParams => ({ ...(t.base ? tree.ref(t.base) : tree.ref(frozen)), head: tree.ref(t.head) }) as CladmopParams;

  let best: { epoch: number; prAuc: number; tensors: Record<string, Tensor> } | null = null;
  const history: FinetuneEpoch[] = [];
  const validLabels = valid.map((v) => v.label);
  for (let epoch = 0; epoch < o.maxEpochs; epoch++) {
    let lossSum = 0;
    let n = 0;
    // Partial last batches are kept (rows padded with weight 0): every training trial is used each epoch.
    const batches = epochBatches(train, o.batchSize, o.seed * 7919 + epoch);
    const used = new Set(batches.flat());
    const rest = train.filter((t) => !used.has(t));
    if (rest.length > 0) batches.push(rest);
    for (const items of batches) {
      const { batch, rowWeights } = packBatch(items.map((t) => t.input), { size: o.batchSize, lengthBucket: o.lengthBucket, maxCriteria: o.maxCriteria });
      const y = np.array(Float32Array.from({ length: o.batchSize }, (_, i) => items[i]?.label ?? 0));
      const lr = o.lr; // one rate for LoRA and head (headLr is kept for the paper's per-group setting, unused)
      const [t2, s2, loss] = step(trainable, tree.ref(frozen), adam, batch, y, np.array(rowWeights as Float32Array<ArrayBuffer>), np.array(lr));
      trainable = t2;
      adam = s2;
      lossSum += (await loss.data())[0] * items.length;
      n += items.length;
    }
    const probs = await predictProbabilities(c, full(trainable), tree.ref(trainable.lora), valid, o, classifier);
    const prAuc = averagePrecision(validLabels, probs);
    const auc = rocAuc(validLabels, probs);
    history.push({ epoch: epoch + 1, trainLoss: lossSum / n, validPrAuc: prAuc, validRocAuc: auc });
    log(`fine-tune epoch ${epoch + 1}: loss ${(lossSum / n).toFixed(4)} valid PR-AUC ${prAuc.toFixed(4)} ROC-AUC ${auc.toFixed(4)}`);
    o.onEpoch?.(epoch + 1, o.maxEpochs);
    if (!best || prAuc > best.prAuc) best = { epoch: epoch + 1, prAuc, tensors: await treeToTensors(trainable) };
    else if (epoch + 1 - best.epoch >= o.patience) break;
  }
  tree.dispose(adam);
  const restored = treeFromTensors(trainable, best!.tensors, '', 'best epoch');
  const params = { ...(restored.base ?? frozen), head: restored.head } as CladmopParams;
  return { params, lora: restored.lora, bestEpoch: best!.epoch, bestValidPrAuc: best!.prAuc, history, posWeight };
}
