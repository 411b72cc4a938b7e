/**
 * Synthetic CLaDMoP inputs at the configured sizes: encoded criteria (three levels of dEncoder-wide token states)
 * and Drug-Molecule features, packed by the real src/features/trial-batch.ts. The values are random; the cost
 * of a step does not depend on them (every batch is padded to maxCriteria tokens and MAX_* DM slots).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { numpy as np, tree } from '@jax-js/jax';
import type { EncodedCriteria } from '../src/features/criteria-encoder.ts';
import { IcdVocabulary, MOLECULE_INPUT, type DmFeatures } from '../src/features/dm-features.ts';
import { DEFAULT_CLADMOP, initCladmop, initLoraParams, type CladmopConfig } from '../src/model/cladmop.ts';
import { resolveDataDir } from '../src/data/splits.ts';
import { DEFAULT_PRETRAIN } from '../src/train/pretrain.ts';

/** ICD vocabulary size of the TOP data (aux/icd), used when the data directory is absent. */
export const FALLBACK_ICD_VOCAB = 24655;

/** The benchmarked configuration: DEFAULT_CLADMOP with dEncoder 192 and the real ICD vocabulary size. */
export function benchConfig(): { config: CladmopConfig; icdSource: string } {
  let icdVocab = FALLBACK_ICD_VOCAB;
  let icdSource = `fallback constant ${FALLBACK_ICD_VOCAB} (TOP data directory not found)`;
  try {
    const dir = resolveDataDir();
    if (existsSync(path.join(dir, 'aux/icd/icd_10_direct_mapping.csv'))) {
      icdVocab = IcdVocabulary.fromDataDir(dir).size;
      icdSource = `ICD vocabulary of ${dir}`;
    }
  } catch {
    // keep the fallback
  }
  return { config: { ...DEFAULT_CLADMOP, dEncoder: 192, icdVocab }, icdSource };
}

export const BENCH_BATCH = DEFAULT_PRETRAIN.batchSize;
export const BENCH_CRITERIA = DEFAULT_PRETRAIN.maxCriteria;

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

export function syntheticCriteria(r: () => number, tokens: number, dim: number): EncodedCriteria {
  const nInc = Math.floor(tokens * (0.4 + 0.2 * r()));
  return {
    levels: [0, 1, 2].map(() => Float32Array.from({ length: tokens * dim }, () => 2 * r() - 1)),
    tokens: Array.from({ length: tokens }, (_, i) => 4 + i),
    segments: Uint8Array.from({ length: tokens }, (_, t) => (t < nInc ? 0 : 1)),
    dim,
  };
}

export function syntheticDm(r: () => number, c: CladmopConfig): DmFeatures {
  const nMol = Math.floor(r() * 4); // 0 = no parseable molecule (unknown-molecule token)
  const molecules = new Float32Array(nMol * MOLECULE_INPUT);
  for (let m = 0; m < nMol; m++) {
    for (let i = 0; i < 2048; i++) molecules[m * MOLECULE_INPUT + i] = r() < 0.05 ? 1 : 0;
    for (let i = 2048; i < MOLECULE_INPUT; i++) molecules[m * MOLECULE_INPUT + i] = r();
  }
  const ids = (n: number, k: number, max: number) => Array.from({ length: n }, () => Array.from({ length: k }, () => 1 + Math.floor(r() * (max - 1))));
  return {
    molecules,
    nMolecules: nMol,
    drugNgrams: ids(1 + Math.floor(r() * 3), 20, c.nameBuckets),
    diseaseAncestors: ids(1 + Math.floor(r() * 2), 4, Math.max(2, c.icdVocab)),
    report: { invalidSmiles: [], placeboDropped: 0, unknownIcdCodes: [], truncated: [] },
  };
}

export function syntheticTrials(n: number, c: CladmopConfig, tokens: number, seed: number) {
  const r = rng(seed);
  return Array.from({ length: n }, () => ({ criteria: syntheticCriteria(r, tokens, c.dEncoder), dm: syntheticDm(r, c) }));
}

/** Parameter count of a tree of arrays (shapes only; the tree is not consumed). */
export function countLeaves(t: unknown): number {
  return (tree.leaves(t as never) as np.Array[]).reduce((s, a) => s + a.shape.reduce((x, y) => x * y, 1), 0);
}

/** Parameter counts of the model parts, for the PyTorch mirror check. */
export function parameterCounts(c: CladmopConfig): Record<string, number> {
  const p = initCladmop(c, 1);
  const lora = initLoraParams(c, 1);
  const counts = {
    total: countLeaves(p),
    grouping: countLeaves(p.grouping),
    molecule: countLeaves(p.molecule),
    embeddings: countLeaves([p.unknownMolecule, p.nameEmb, p.icdEmb, p.typeEmb]),
    dmBlocks: countLeaves(p.dmBlocks),
    fusion: countLeaves(p.fusion),
    projections: countLeaves([p.projC, p.projDm, p.logitScale]),
    head: countLeaves(p.head),
    lora: countLeaves(lora),
  };
  tree.dispose([p, lora]);
  return counts;
}

