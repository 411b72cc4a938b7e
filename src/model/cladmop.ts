/**
 * CLaDMoP (Zhang, Liu, Murai, KDD 2025, arXiv 2505.18527) as pure functions over parameter trees.
 *
 * What the paper fixes (as far as it could be recovered, see shared/notes/paper.md):
 *  - a frozen LLM reads the criteria; token-level states at three depths (coarse / medium / fine);
 *  - a lightweight, trainable Drug-Molecule (DM) branch over drugs, molecules and diseases;
 *  - grouping blocks: learnable centroids ~ N(0, 1) cross-attend over the long criteria sequence,
 *    G = 3 grouping layers 100 -> 50 -> 25 with S = 2 self-attention layers between them;
 *  - multi-level fusion of every depth into the DM branch;
 *  - pair-matching pre-training with symmetric InfoNCE, logit scale exp(0.6), in-batch negatives;
 *  - LoRA r = 8 on the DM branch's attention at fine-tuning, a 3-layer residual ReLU head, weighted BCE.
 * What we chose (the paper leaves it open), each marked [ours] below:
 *  - [ours] one grouping stack per level (not shared), each fed by a Linear + LayerNorm projection of that
 *    level to d_model plus a segment embedding (inclusion / exclusion); S self-attention blocks follow every
 *    grouping layer (so G=3, S=2 has 6 self-attention blocks per level);
 *  - [ours] DM tokens: one per molecule (Morgan-2048 + descriptors through a residual MLP), one per drug name
 *    (hashed character n-grams, because TOP's drug and SMILES lists cannot be paired by position), one per
 *    disease (sum of learnable ICD-10 prefix-ancestor embeddings), a learned "unknown molecule" token when a
 *    trial has no parseable SMILES, plus type embeddings; then `dmLayers` self-attention blocks;
 *  - [ours] fusion, per level coarse -> medium -> fine: a cross-attention block (DM tokens query the grouped
 *    criteria tokens of that level) followed by one DM self-attention block;
 *  - [ours] pair matching as a cross-encoder: the score of criteria i with drugs/diseases j fuses DM_j with
 *    the criteria of i, s_ij = exp(t) cos(z_C(i), z_DM(j | crit_i)), t learnable from 0.6. The DM side never
 *    contains j's own criteria, so matching cannot be solved by comparing criteria with criteria;
 *  - [ours] z_C = projection of the max-pooled fine grouped tokens; z_DM = projection of the masked mean of
 *    the fused DM tokens;
 *  - [ours] the classification head reads [mean fused DM tokens ; max-pooled fine grouped criteria].
 */
import { nn, numpy as np, tree } from '@jax-js/jax';
import {
  attentionProjectedKv,
  block,
  ffn,
  initAttentionLora,
  initBlock,
  initLayerNorm,
  initLinear,
  l2normalize,
  layerNorm,
  linear,
  maskedMean,
  ParamInit,
  type AttentionLora,
  type BlockParams,
  type LayerNormParams,
  type LinearParams,
} from './layers.ts';

type NpArray = np.Array;

export interface CladmopConfig {
  /** Width of the criteria encoder's hidden states. */
  dEncoder: number;
  dModel: number;
  nHeads: number;
  ffHidden: number;
  /** Centroids per grouping layer, e.g. [100, 50, 25] (G = length). */
  centroids: number[];
  /** Self-attention blocks after each grouping layer (S). */
  selfAttention: number;
  /** Which criteria levels are fused, indices into [coarse, medium, fine]. */
  levels: number[];
  dmLayers: number;
  /** Molecule input width: fingerprint bits + descriptors. */
  moleculeInput: number;
  moleculeHidden: number;
  nameBuckets: number;
  icdVocab: number;
  /** Joint space of pair matching. */
  dJoint: number;
  headHidden: number;
  loraRank: number;
  loraAlpha: number;
  dropout: number;
  initLogitScale: number;
}

/**
 * Bump when a change to the model code changes what pre-training produces: cached pre-trained weights are
 * keyed by it (with the configuration, data and encoder).
 */
export const MODEL_CODE_VERSION = 2;

export const DEFAULT_CLADMOP: CladmopConfig = {
  dEncoder: 192,
  dModel: 64,
  nHeads: 4,
  ffHidden: 128,
  centroids: [100, 50, 25],
  selfAttention: 2,
  levels: [0, 1, 2],
  dmLayers: 2,
  moleculeInput: 2048 + 11,
  moleculeHidden: 256,
  nameBuckets: 4096,
  icdVocab: 0, // set from the ICD vocabulary
  dJoint: 64,
  headHidden: 64,
  loraRank: 8,
  loraAlpha: 16,
  dropout: 0.1,
  initLogitScale: 0.6,
};

export type GroupingLayerParams = { centroids: NpArray; cross: BlockParams; selfs: BlockParams[] };
export type LevelGroupingParams = { proj: LinearParams; projLn: LayerNormParams; segment: NpArray; layers: GroupingLayerParams[] };
export type FusionParams = { cross: BlockParams; self: BlockParams };

export type CladmopParams = {
  grouping: LevelGroupingParams[];
  molecule: { inProj: LinearParams; hidden: LinearParams; out: LinearParams; ln: LayerNormParams };
  unknownMolecule: NpArray;
  nameEmb: NpArray;
  icdEmb: NpArray;
  typeEmb: NpArray;
  dmBlocks: BlockParams[];
  fusion: FusionParams[];
  projC: LinearParams;
  projDm: LinearParams;
  logitScale: NpArray;
  head: { l1: LinearParams; l2: LinearParams; l3: LinearParams };
};

/** LoRA adapters on every attention of the DM branch: its self-attention blocks and the fusion blocks. */
export type CladmopLora = { dmBlocks: AttentionLora[]; fusionCross: AttentionLora[]; fusionSelf: AttentionLora[] };

export function initCladmop(c: CladmopConfig, seed: number): CladmopParams {
  const init = new ParamInit(seed);
  const d = c.dModel;
  const grouping: LevelGroupingParams[] = c.levels.map(() => ({
    proj: initLinear(init, c.dEncoder, d),
    projLn: initLayerNorm(d),
    segment: init.normal([2, d], 0.02),
    layers: c.centroids.map((k) => ({
      // The paper initialises centroids from N(0, 1).
      centroids: init.normal([k, d], 1),
      cross: initBlock(init, d, d, c.ffHidden),
      selfs: Array.from({ length: c.selfAttention }, () => initBlock(init, d, null, c.ffHidden)),
    })),
  }));
  return {
    grouping,
    molecule: {
      inProj: initLinear(init, c.moleculeInput, d),
      hidden: initLinear(init, c.moleculeInput, c.moleculeHidden),
      out: initLinear(init, c.moleculeHidden, d),
      ln: initLayerNorm(d),
    },
    unknownMolecule: init.normal([d], 0.02),
    nameEmb: init.normal([c.nameBuckets, d], 0.02),
    icdEmb: init.normal([Math.max(1, c.icdVocab), d], 0.02),
    typeEmb: init.normal([3, d], 0.02),
    dmBlocks: Array.from({ length: c.dmLayers }, () => initBlock(init, d, null, c.ffHidden)),
    fusion: c.levels.map(() => ({ cross: initBlock(init, d, d, c.ffHidden), self: initBlock(init, d, null, c.ffHidden) })),
    projC: initLinear(init, d, c.dJoint),
    projDm: initLinear(init, d, c.dJoint),
    // A strongly typed float32 scalar: a weakly typed one (`np.array(x)`) comes back strongly typed from the
    // first optimiser step, so a jitted training step was traced and compiled a second time.
    logitScale: np.array(c.initLogitScale, { dtype: np.float32 }),
    // [ours] The output layer starts near zero, so fine-tuning starts from p = 0.5 for every trial.
    head: { l1: initLinear(init, 2 * d, c.headHidden), l2: initLinear(init, c.headHidden, c.headHidden), l3: { w: init.normal([c.headHidden, 1], 0.01), b: np.zeros([1]) } },
  };
}

export function initLoraParams(c: CladmopConfig, seed: number): CladmopLora {
  const init = new ParamInit(seed + 17);
  const d = c.dModel;
  return {
    dmBlocks: Array.from({ length: c.dmLayers }, () => initAttentionLora(init, d, c.loraRank)),
    fusionCross: c.levels.map(() => initAttentionLora(init, d, c.loraRank)),
    fusionSelf: c.levels.map(() => initAttentionLora(init, d, c.loraRank)),
  };
}

/** Criteria part of a batch (built by features/trial-batch.ts). */
export type CriteriaBatch = {
  /** Criteria levels, each [B, L, dEncoder] (only the configured `levels` are read). */
  crit: NpArray[];
  /** bool [B, L] */
  critMask: NpArray;
  /** int32 [B, L]: 0 inclusion, 1 exclusion */
  critSegment: NpArray;
};

/** A batch of model inputs. */
export type CladmopBatch = CriteriaBatch & DmBatch;

/** Drug-Molecule part of a batch. */
export type DmBatch = {
  /** [B, M, moleculeInput] */
  molFeatures: NpArray;
  /** bool [B, M] */
  molMask: NpArray;
  /** float [B]: 1 when the trial has no parseable molecule (uses the unknown-molecule token in slot 0) */
  molUnknown: NpArray;
  /** int32 [B, D, G] hashed n-gram ids */
  nameIds: NpArray;
  /** float [B, D, G] weights (0 for padding) */
  nameWeights: NpArray;
  /** bool [B, D] */
  nameMask: NpArray;
  /** int32 [B, S, A] ICD prefix ids */
  icdIds: NpArray;
  /** float [B, S, A] */
  icdWeights: NpArray;
  /** bool [B, S] */
  icdMask: NpArray;
};

/** Groups each configured level's criteria tokens: returns per level [B, K_last, d]. Consumes the criteria arrays. */
export function groupCriteria(c: CladmopConfig, p: LevelGroupingParams[], crit: NpArray[], critMask: NpArray, critSegment: NpArray): NpArray[] {
  const out: NpArray[] = [];
  const B = critMask.shape[0];
  c.levels.forEach((level, li) => {
    const g = p[li];
    let x = layerNorm(g.projLn, linear(g.proj, crit[level]));
    x = x.add(np.take(g.segment, critSegment.ref, 0));
    let tokens = x;
    let mask: NpArray | null = critMask.ref;
    g.layers.forEach((layer) => {
      const K = layer.centroids.shape[0];
      let cent = np.broadcastTo(layer.centroids, [B, K, c.dModel]);
      cent = block(layer.cross, null, 0, cent, tokens, mask, c.nHeads);
      mask = null; // centroids are all real tokens
      for (const s of layer.selfs) cent = block(s, null, 0, cent, null, null, c.nHeads);
      tokens = cent;
    });
    out.push(tokens);
  });
  // Levels not configured are unused; release them.
  crit.forEach((a, i) => {
    if (!c.levels.includes(i)) a.dispose();
  });
  critMask.dispose();
  critSegment.dispose();
  return out;
}

/** DM tokens [B, N, d] and their mask [B, N], before the DM self-attention blocks. */
export function dmTokens(c: CladmopConfig, p: CladmopParams, batch: DmBatch): { tokens: NpArray; mask: NpArray } {
  const d = c.dModel;
  const m = p.molecule;
  const molIn = batch.molFeatures;
  const hidden = nn.relu(linear(m.hidden, molIn.ref));
  let mol = layerNorm(m.ln, linear(m.inProj, molIn).add(linear(m.out, hidden)));
  // Slot 0 of a trial without any parseable molecule holds the learned unknown-molecule token.
  const [B, M] = batch.molMask.shape;
  const unknownSlot = np.zeros([B, M]).add(np.expandDims(batch.molUnknown, -1)).mul(np.arange(M).equal(0).astype(np.float32));
  mol = mol.mul(np.expandDims(np.array(1).sub(unknownSlot.ref), -1)).add(np.expandDims(unknownSlot, -1).mul(p.unknownMolecule));
  const names = np.take(p.nameEmb, batch.nameIds, 0).mul(np.expandDims(batch.nameWeights, -1)).sum(2);
  const icd = np.take(p.icdEmb, batch.icdIds, 0).mul(np.expandDims(batch.icdWeights, -1)).sum(2);
  const [t0, t1, t2] = np.split(p.typeEmb, 3, 0).map((t) => t.reshape([1, 1, d]));
  const tokens = np.concatenate([mol.add(t0), names.add(t1), icd.add(t2)], 1);
  const mask = np.concatenate([batch.molMask, batch.nameMask, batch.icdMask], 1);
  return { tokens, mask };
}

export interface EncodeOptions {
  lora: CladmopLora | null;
  loraScale: number;
}

/** DM self-attention blocks. */
export function dmEncode(c: CladmopConfig, blocks: BlockParams[], lora: AttentionLora[] | null, loraScale: number, x: NpArray, mask: NpArray): NpArray {
  blocks.forEach((b, i) => {
    x = block(b, lora ? lora[i] : null, loraScale, x, null, mask.ref, c.nHeads);
  });
  mask.dispose();
  return x;
}

/** Multi-level fusion: DM tokens cross-attend to each level's grouped criteria in turn (coarse -> fine). */
export function fuse(
  c: CladmopConfig,
  fusion: FusionParams[],
  lora: CladmopLora | null,
  loraScale: number,
  x: NpArray,
  mask: NpArray,
  grouped: NpArray[],
): NpArray {
  fusion.forEach((f, i) => {
    x = block(f.cross, lora ? lora.fusionCross[i] : null, loraScale, x, grouped[i], null, c.nHeads);
    x = block(f.self, lora ? lora.fusionSelf[i] : null, loraScale, x, null, mask.ref, c.nHeads);
  });
  mask.dispose();
  return x;
}

/**
 * `fuse` for all B x B pairs (criteria i, DM j) at flat index i * B + j. The keys and values of each trial's
 * grouped criteria are projected once per trial and then broadcast over j (B times less work than projecting
 * every pair's copy).
 */
function fusePairs(c: CladmopConfig, fusion: FusionParams[], x: NpArray, mask: NpArray, grouped: NpArray[], B: number): NpArray {
  const d = c.dModel;
  fusion.forEach((f, i) => {
    const g = grouped[i];
    const K = g.shape[1];
    const kvIn = layerNorm(f.cross.lnKv!, g);
    const pairs = (a: NpArray) => np.broadcastTo(np.expandDims(a, 1), [B, B, K, d]).reshape([B * B, K, d]);
    const k = pairs(linear(f.cross.att.k, kvIn.ref));
    const v = pairs(linear(f.cross.att.v, kvIn));
    const h = layerNorm(f.cross.ln1, x.ref);
    x = x.add(attentionProjectedKv({ q: f.cross.att.q, o: f.cross.att.o }, null, 0, h, k, v, null, c.nHeads));
    x = x.ref.add(ffn(f.cross.ffn, layerNorm(f.cross.ln2, x)));
    x = block(f.self, null, 0, x, null, mask.ref, c.nHeads);
  });
  mask.dispose();
  return x;
}

export interface ForwardParts {
  /** Pooled fused DM tokens [B, d]. */
  dmPooled: NpArray;
  /** Max-pooled fine grouped criteria [B, d]. */
  critPooled: NpArray;
}

/** Each trial's criteria fused with its own drugs and diseases. */
export function forwardOwnPairs(c: CladmopConfig, p: CladmopParams, lora: CladmopLora | null, batch: CladmopBatch): ForwardParts {
  const grouped = groupCriteria(c, p.grouping, batch.crit, batch.critMask, batch.critSegment);
  return forwardFromGrouped(c, p, lora, grouped, batch);
}

/**
 * The DM branch fused with already-grouped criteria ([B, K, d] per level). The grouping blocks are frozen in
 * LoRA fine-tuning, so their outputs are computed once per trial and reused every epoch. `p.grouping` is not
 * read: pass it empty (`grouping: []`) so no array is left unconsumed.
 */
export function forwardFromGrouped(c: CladmopConfig, p: CladmopParams, lora: CladmopLora | null, grouped: NpArray[], batch: DmBatch): ForwardParts {
  const scale = c.loraAlpha / c.loraRank;
  const critPooled = np.max(grouped[grouped.length - 1].ref, 1);
  const { tokens, mask } = dmTokens(c, p, batch);
  const x = dmEncode(c, p.dmBlocks, lora ? lora.dmBlocks : null, scale, tokens, mask.ref);
  const fused = fuse(c, p.fusion, lora, scale, x, mask.ref, grouped);
  return { dmPooled: maskedMean(fused, mask), critPooled };
}

/** Success logit of each trial (fine-tuning / prediction). */
export function classifyLogits(c: CladmopConfig, p: CladmopParams, lora: CladmopLora | null, batch: CladmopBatch): NpArray {
  const grouped = groupCriteria(c, p.grouping, batch.crit, batch.critMask, batch.critSegment);
  return classifyFromGrouped(c, p, lora, grouped, batch);
}

/** Success logits from already-grouped criteria. */
export function classifyFromGrouped(c: CladmopConfig, p: CladmopParams, lora: CladmopLora | null, grouped: NpArray[], batch: DmBatch): NpArray {
  tree.dispose([p.projC, p.projDm, p.logitScale]); // pair-matching parts, unused here
  const { dmPooled, critPooled } = forwardFromGrouped(c, p, lora, grouped, batch);
  const h0 = nn.relu(linear(p.head.l1, np.concatenate([dmPooled, critPooled], -1)));
  const h1 = h0.ref.add(nn.relu(linear(p.head.l2, h0)));
  return linear(p.head.l3, h1).reshape([-1]);
}

/**
 * Pair-matching logits S [B, B]: row i = criteria of trial i, column j = drugs/diseases of trial j, scored by
 * fusing DM_j with the grouped criteria of i (cross-encoder; B^2 fusion passes, affordable because grouping
 * has shrunk each criteria sequence to a few dozen tokens).
 */
export function pairLogits(c: CladmopConfig, p: CladmopParams, batch: CladmopBatch): NpArray {
  const B = batch.critMask.shape[0];
  tree.dispose(p.head); // classifier parts, unused here
  const grouped = groupCriteria(c, p.grouping, batch.crit, batch.critMask, batch.critSegment);
  const critPooled = np.max(grouped[grouped.length - 1].ref, 1);
  const { tokens, mask } = dmTokens(c, p, batch);
  const x = dmEncode(c, p.dmBlocks, null, 0, tokens, mask.ref);
  const N = x.shape[1];
  const d = c.dModel;
  // Pair (i, j) at flat index i * B + j: criteria of i, DM tokens of j.
  const xPairs = np.broadcastTo(np.expandDims(x, 0), [B, B, N, d]).reshape([B * B, N, d]);
  const maskPairs = np.broadcastTo(np.expandDims(mask, 0), [B, B, N]).reshape([B * B, N]);
  const fused = fusePairs(c, p.fusion, xPairs, maskPairs.ref, grouped, B);
  const zDm = l2normalize(linear(p.projDm, maskedMean(fused, maskPairs))).reshape([B, B, c.dJoint]);
  const zC = l2normalize(linear(p.projC, critPooled)).reshape([B, 1, c.dJoint]);
  return zDm.mul(zC).sum(-1).mul(np.exp(p.logitScale));
}

/**
 * Zero-shot success score: the pair-matching logit of each trial's criteria with its own drugs and diseases
 * (the diagonal of `pairLogits`, computed without the B^2 pairs). No outcome label is involved.
 */
export function ownPairScores(c: CladmopConfig, p: CladmopParams, batch: CladmopBatch): NpArray {
  const grouped = groupCriteria(c, p.grouping, batch.crit, batch.critMask, batch.critSegment);
  return ownPairScoresFromGrouped(c, { ...p, grouping: [] }, grouped, batch);
}

/**
 * ownPairScores from already-grouped criteria ([B, K, d] per level, see forwardFromGrouped): the zero-shot score
 * of many trials without grouping their criteria again. `p.grouping` is not read: pass it empty.
 */
export function ownPairScoresFromGrouped(c: CladmopConfig, p: CladmopParams, grouped: NpArray[], batch: DmBatch): NpArray {
  tree.dispose(p.head);
  const { dmPooled, critPooled } = forwardFromGrouped(c, p, null, grouped, batch);
  const zDm = l2normalize(linear(p.projDm, dmPooled));
  const zC = l2normalize(linear(p.projC, critPooled));
  return zDm.mul(zC).sum(-1).mul(np.exp(p.logitScale));
}

/** Symmetric InfoNCE over a [B, B] logit matrix whose diagonal holds the true pairs. */
export function infoNce(logits: NpArray): NpArray {
  const B = logits.shape[0];
  const eye = np.eye(B);
  const rows = nn.logSoftmax(logits.ref, 1).mul(eye.ref).sum(1).mean();
  const cols = nn.logSoftmax(logits, 0).mul(eye).sum(0).mean();
  return rows.add(cols).mul(-0.5);
}

/** Class-weighted BCE with logits: pos_weight multiplies the positive term; weights mask padding rows. */
export function weightedBce(logits: NpArray, labels: NpArray, posWeight: number, rowWeights: NpArray): NpArray {
  // -[pw * y * log(sigmoid(z)) + (1 - y) * log(1 - sigmoid(z))]
  const logSig = nn.logSigmoid(logits.ref);
  const logOneMinus = nn.logSigmoid(logits.neg());
  const loss = labels.ref.mul(logSig).mul(posWeight).add(np.array(1).sub(labels).mul(logOneMinus)).neg();
  const total = rowWeights.ref.sum();
  return loss.mul(rowWeights).sum().div(np.maximum(total, 1));
}
