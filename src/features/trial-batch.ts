/**
 * Packs per-trial features (encoded criteria + DM features) into the padded arrays of a CladmopBatch.
 * Shapes are bucketed (criteria length to a multiple of `lengthBucket`) so jit compiles few programs.
 */
import { numpy as np } from '@jax-js/jax';
import type { CladmopBatch } from '../model/cladmop.ts';
import type { EncodedCriteria } from './criteria-encoder.ts';
import { MAX_ANCESTORS, MAX_DISEASES, MAX_DRUGS, MAX_MOLECULES, MAX_NGRAMS, MOLECULE_INPUT, type DmFeatures } from './dm-features.ts';

export interface TrialInput {
  criteria: EncodedCriteria;
  dm: DmFeatures;
}

export interface BatchOptions {
  /** Batch rows; missing rows are filled with copies of the first item and get weight 0. */
  size: number;
  lengthBucket: number;
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
  if (items.length === 0) throw new Error('packBatch: no items');
  const B = o.size;
  const rows = Array.from({ length: B }, (_, i) => items[i] ?? items[0]);
  const rowWeights = Float32Array.from({ length: B }, (_, i) => (i < items.length ? 1 : 0));
  const longest = Math.max(1, ...rows.map((r) => Math.min(r.criteria.tokens.length, o.maxCriteria)));
  const L = Math.min(o.maxCriteria, o.lengthBucket * Math.ceil(longest / o.lengthBucket));
  const d = rows[0].criteria.dim;
  const nLevels = rows[0].criteria.levels.length;
  const levels = Array.from({ length: nLevels }, () => new Float32Array(B * L * d));
  const critMask = new Uint8Array(B * L);
  const critSegment = new Int32Array(B * L);
  const mol = new Float32Array(B * MAX_MOLECULES * MOLECULE_INPUT);
  const molMask = new Uint8Array(B * MAX_MOLECULES);
  const molUnknown = new Float32Array(B);
  const nameIds = new Int32Array(B * MAX_DRUGS * MAX_NGRAMS);
  const nameWeights = new Float32Array(B * MAX_DRUGS * MAX_NGRAMS);
  const nameMask = new Uint8Array(B * MAX_DRUGS);
  const icdIds = new Int32Array(B * MAX_DISEASES * MAX_ANCESTORS);
  const icdWeights = new Float32Array(B * MAX_DISEASES * MAX_ANCESTORS);
  const icdMask = new Uint8Array(B * MAX_DISEASES);
  rows.forEach((r, b) => {
    const n = Math.max(1, Math.min(r.criteria.tokens.length, L));
    const real = Math.min(r.criteria.tokens.length, L);
    for (let l = 0; l < nLevels; l++) levels[l].set(r.criteria.levels[l].subarray(0, real * d), b * L * d);
    // An empty criteria text still gets one (zero) token so attention has a key to attend to.
    critMask.fill(1, b * L, b * L + n);
    for (let t = 0; t < real; t++) critSegment[b * L + t] = r.criteria.segments[t];
    const m = r.dm.nMolecules;
    mol.set(r.dm.molecules.subarray(0, m * MOLECULE_INPUT), b * MAX_MOLECULES * MOLECULE_INPUT);
    if (m === 0) {
      molUnknown[b] = 1;
      molMask[b * MAX_MOLECULES] = 1;
    } else molMask.fill(1, b * MAX_MOLECULES, b * MAX_MOLECULES + m);
    r.dm.drugNgrams.slice(0, MAX_DRUGS).forEach((ids, j) => {
      nameMask[b * MAX_DRUGS + j] = 1;
      ids.slice(0, MAX_NGRAMS).forEach((id, g) => {
        nameIds[(b * MAX_DRUGS + j) * MAX_NGRAMS + g] = id;
        nameWeights[(b * MAX_DRUGS + j) * MAX_NGRAMS + g] = 1 / Math.sqrt(ids.length);
      });
    });
    r.dm.diseaseAncestors.slice(0, MAX_DISEASES).forEach((ids, j) => {
      icdMask[b * MAX_DISEASES + j] = 1;
      ids.slice(0, MAX_ANCESTORS).forEach((id, a) => {
        icdIds[(b * MAX_DISEASES + j) * MAX_ANCESTORS + a] = id;
        icdWeights[(b * MAX_DISEASES + j) * MAX_ANCESTORS + a] = 1 / Math.sqrt(ids.length);
      });
    });
  });
  // jax-js builds arrays from Float32Array/Int32Array only; masks go through int32 and a comparison.
  const bool = (a: Uint8Array, shape: number[]) => np.array(Int32Array.from(a), { dtype: np.int32 }).reshape(shape).notEqual(0);
  const f32 = (a: Float32Array, shape: number[]) => np.array(a as Float32Array<ArrayBuffer>).reshape(shape);
  const i32 = (a: Int32Array, shape: number[]) => np.array(a as Int32Array<ArrayBuffer>, { dtype: np.int32 }).reshape(shape);
  return {
    batch: {
      crit: levels.map((lv) => f32(lv, [B, L, d])),
      critMask: bool(critMask, [B, L]),
      critSegment: i32(critSegment, [B, L]),
      molFeatures: f32(mol, [B, MAX_MOLECULES, MOLECULE_INPUT]),
      molMask: bool(molMask, [B, MAX_MOLECULES]),
      molUnknown: f32(molUnknown, [B]),
      nameIds: i32(nameIds, [B, MAX_DRUGS, MAX_NGRAMS]),
      nameWeights: f32(nameWeights, [B, MAX_DRUGS, MAX_NGRAMS]),
      nameMask: bool(nameMask, [B, MAX_DRUGS]),
      icdIds: i32(icdIds, [B, MAX_DISEASES, MAX_ANCESTORS]),
      icdWeights: f32(icdWeights, [B, MAX_DISEASES, MAX_ANCESTORS]),
      icdMask: bool(icdMask, [B, MAX_DISEASES]),
    },
    rowWeights,
    length: L,
  };
}
