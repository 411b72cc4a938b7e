/**
 * Packs per-trial features (encoded criteria + DM features) into the padded arrays of a CladmopBatch. Every
 * batch has the same shape (rows x maxCriteria), so jit compiles one program and memory is reused.
 */
import { numpy as np } from '@jax-js/jax';
import type { CladmopBatch, CriteriaBatch, DmBatch } from '../model/cladmop.ts';
import type { EncodedCriteria } from './criteria-encoder.ts';
import { MAX_ANCESTORS, MAX_DISEASES, MAX_DRUGS, MAX_MOLECULES, MAX_NGRAMS, MOLECULE_INPUT, type DmFeatures } from './dm-features.ts';

export interface TrialInput {
  criteria: EncodedCriteria;
  dm: DmFeatures;
  /** [ours] The lexical level's logit (model/lexical.ts), added to the model's logit; absent = 0. */
  offset?: number;
}

export interface BatchOptions {
  /** Batch rows; missing rows are filled with copies of the first item and get weight 0. */
  size: number;
  /** Longest criteria kept (tokens); longer ones are cut (the encoder already bounds each section). */
  maxCriteria: number;
}

export interface PackedBatch {
  batch: CladmopBatch;
  /** 1 for real rows, 0 for padding rows. */
  rowWeights: Float32Array;
  length: number;
}

export function packBatch(items: TrialInput[], o: BatchOptions): PackedBatch {
  const crit = packCriteria(items.map((i) => i.criteria), o);
  const rows = Array.from({ length: o.size }, (_, i) => items[i] ?? items[0]);
  return { batch: { ...crit.batch, ...packDm(rows.map((r) => r.dm)) }, rowWeights: crit.rowWeights, length: crit.length };
}

/** Host (typed-array) form of a batch's criteria: what packCriteria hands to jax-js and onnxruntime reads. */
export interface HostCriteria {
  /** One per level, [B, L, d] row-major. */
  levels: Float32Array[];
  /** [B, L] 1 = real token */
  mask: Uint8Array;
  /** [B, L] 0 inclusion, 1 exclusion */
  segment: Int32Array;
  B: number;
  L: number;
  d: number;
  rowWeights: Float32Array;
}

/**
 * The criteria of a batch as host arrays, padded to `o.size` rows (copies of the first item, weight 0) and to
 * `length` tokens (default o.maxCriteria).
 */
export function packCriteriaHost(items: EncodedCriteria[], o: BatchOptions, length = o.maxCriteria): HostCriteria {
  if (items.length === 0) throw new Error('packBatch: no items');
  const B = o.size;
  const rows = Array.from({ length: B }, (_, i) => items[i] ?? items[0]);
  const rowWeights = Float32Array.from({ length: B }, (_, i) => (i < items.length ? 1 : 0));
  const L = length;
  const d = rows[0].dim;
  // Each row's states are read once: in training they may come from the embedding cache on disk on each read.
  const rowLevels = rows.map((r) => r.levels);
  const nLevels = rowLevels[0].length;
  const levels = Array.from({ length: nLevels }, () => new Float32Array(B * L * d));
  const critMask = new Uint8Array(B * L);
  const critSegment = new Int32Array(B * L);
  rows.forEach((r, b) => {
    const keep = keptTokens(r.segments, L);
    for (let l = 0; l < nLevels; l++) {
      const src = rowLevels[b][l];
      const dst = levels[l];
      keep.forEach((t, j) => dst.set(src.subarray(t * d, (t + 1) * d), (b * L + j) * d));
    }
    // An empty criteria text still gets one (zero) token so attention has a key to attend to.
    critMask.fill(1, b * L, b * L + Math.max(1, keep.length));
    keep.forEach((t, j) => (critSegment[b * L + j] = r.segments[t]));
  });
  return { levels, mask: critMask, segment: critSegment, B, L, d, rowWeights };
}

/** Criteria tokens a trial keeps under the budget (at least 1: an empty text still gets one zero token). */
export function keptLength(c: EncodedCriteria, maxCriteria: number): number {
  return Math.max(1, Math.min(c.tokens.length, maxCriteria));
}

/** The criteria arrays of a batch, padded to `o.size` rows (copies of the first item, weight 0). */
export function packCriteria(items: EncodedCriteria[], o: BatchOptions): { batch: CriteriaBatch; rowWeights: Float32Array; length: number } {
  // Always the full length: jax-js's wasm allocator reuses a freed buffer only for the same size class and
  // never returns memory, so varying shapes fragment its 4 GiB heap until allocation fails (measured). With
  // the length cap near the median criteria length (~460 tokens), padding to it costs little.
  const h = packCriteriaHost(items, o);
  return {
    batch: {
      crit: h.levels.map((lv) => f32(lv, [h.B, h.L, h.d])),
      critMask: bool(h.mask, [h.B, h.L]),
      critSegment: i32(h.segment, [h.B, h.L]),
    },
    rowWeights: h.rowWeights,
    length: h.L,
  };
}

/**
 * Which token positions to keep when a trial's criteria exceed `budget` tokens: both sections keep their
 * first tokens, sharing the budget equally (a short section leaves its unused share to the other), so long
 * inclusion criteria never push out the exclusion criteria.
 */
export function keptTokens(segments: Uint8Array, budget: number): number[] {
  const inc: number[] = [];
  const exc: number[] = [];
  segments.forEach((s, t) => (s === 0 ? inc : exc).push(t));
  if (inc.length + exc.length <= budget) return [...inc, ...exc];
  const half = Math.floor(budget / 2);
  const nInc = inc.length <= half ? inc.length : Math.max(half, budget - exc.length);
  const nExc = Math.min(exc.length, budget - nInc);
  return [...inc.slice(0, nInc), ...exc.slice(0, nExc)];
}

// jax-js builds arrays from Float32Array/Int32Array only; masks go through int32 and a comparison.
const bool = (a: Uint8Array, shape: number[]) => np.array(Int32Array.from(a), { dtype: np.int32 }).reshape(shape).notEqual(0);
const f32 = (a: Float32Array, shape: number[]) => np.array(a as Float32Array<ArrayBuffer>).reshape(shape);
const i32 = (a: Int32Array, shape: number[]) => np.array(a as Int32Array<ArrayBuffer>, { dtype: np.int32 }).reshape(shape);

/** Host form of the Drug-Molecule arrays (masks as 0/1 bytes); shapes as in DmBatch. */
export interface HostDm {
  B: number;
  molFeatures: Float32Array;
  molMask: Uint8Array;
  molUnknown: Float32Array;
  nameIds: Int32Array;
  nameWeights: Float32Array;
  nameMask: Uint8Array;
  icdIds: Int32Array;
  icdWeights: Float32Array;
  icdMask: Uint8Array;
}

/** The Drug-Molecule arrays of a batch (one row per item). */
export function packDm(rows: DmFeatures[]): DmBatch {
  const h = packDmHost(rows);
  const B = h.B;
  return {
    molFeatures: f32(h.molFeatures, [B, MAX_MOLECULES, MOLECULE_INPUT]),
    molMask: bool(h.molMask, [B, MAX_MOLECULES]),
    molUnknown: f32(h.molUnknown, [B]),
    nameIds: i32(h.nameIds, [B, MAX_DRUGS, MAX_NGRAMS]),
    nameWeights: f32(h.nameWeights, [B, MAX_DRUGS, MAX_NGRAMS]),
    nameMask: bool(h.nameMask, [B, MAX_DRUGS]),
    icdIds: i32(h.icdIds, [B, MAX_DISEASES, MAX_ANCESTORS]),
    icdWeights: f32(h.icdWeights, [B, MAX_DISEASES, MAX_ANCESTORS]),
    icdMask: bool(h.icdMask, [B, MAX_DISEASES]),
  };
}

export function packDmHost(rows: DmFeatures[]): HostDm {
  const B = rows.length;
  const mol = new Float32Array(B * MAX_MOLECULES * MOLECULE_INPUT);
  const molMask = new Uint8Array(B * MAX_MOLECULES);
  const molUnknown = new Float32Array(B);
  const nameIds = new Int32Array(B * MAX_DRUGS * MAX_NGRAMS);
  const nameWeights = new Float32Array(B * MAX_DRUGS * MAX_NGRAMS);
  const nameMask = new Uint8Array(B * MAX_DRUGS);
  const icdIds = new Int32Array(B * MAX_DISEASES * MAX_ANCESTORS);
  const icdWeights = new Float32Array(B * MAX_DISEASES * MAX_ANCESTORS);
  const icdMask = new Uint8Array(B * MAX_DISEASES);
  rows.forEach((dm, b) => {
    // At most MAX_MOLECULES (dmFeatures already caps them): more would spill into the next row.
    const m = Math.min(dm.nMolecules, MAX_MOLECULES);
    mol.set(dm.molecules.subarray(0, m * MOLECULE_INPUT), b * MAX_MOLECULES * MOLECULE_INPUT);
    if (m === 0) {
      molUnknown[b] = 1;
      molMask[b * MAX_MOLECULES] = 1;
    } else molMask.fill(1, b * MAX_MOLECULES, b * MAX_MOLECULES + m);
    dm.drugNgrams.slice(0, MAX_DRUGS).forEach((ids, j) => {
      nameMask[b * MAX_DRUGS + j] = 1;
      const kept = ids.slice(0, MAX_NGRAMS);
      kept.forEach((id, g) => {
        nameIds[(b * MAX_DRUGS + j) * MAX_NGRAMS + g] = id;
        nameWeights[(b * MAX_DRUGS + j) * MAX_NGRAMS + g] = 1 / Math.sqrt(kept.length);
      });
    });
    dm.diseaseAncestors.slice(0, MAX_DISEASES).forEach((ids, j) => {
      icdMask[b * MAX_DISEASES + j] = 1;
      const kept = ids.slice(0, MAX_ANCESTORS);
      kept.forEach((id, a) => {
        icdIds[(b * MAX_DISEASES + j) * MAX_ANCESTORS + a] = id;
        icdWeights[(b * MAX_DISEASES + j) * MAX_ANCESTORS + a] = 1 / Math.sqrt(kept.length);
      });
    });
  });
  return { B, molFeatures: mol, molMask, molUnknown, nameIds, nameWeights, nameMask, icdIds, icdWeights, icdMask };
}

/** Stacks per-trial grouped criteria (per level K x d, host arrays) into [B, K, d] arrays. */
export function packGrouped(rows: Float32Array[][], shapes: [number, number][]): np.Array[] {
  return shapes.map(([K, d], level) => {
    const out = new Float32Array(rows.length * K * d);
    rows.forEach((r, b) => out.set(r[level], b * K * d));
    return f32(out, [rows.length, K, d]);
  });
}
