/**
 * Small synthetic training data for tests: random criteria states (3..14 tokens) and DM features, with the
 * options of a two-epoch run that takes seconds. Shared by the in-process and the kill -9 resume tests.
 */
import { createRng } from '../../eval/rng.ts';
import type { EncodedCriteria } from '../../features/criteria-encoder.ts';
import { MOLECULE_INPUT, type DmFeatures } from '../../features/dm-features.ts';
import type { CladmopConfig } from '../../model/cladmop.ts';
import { TINY_CLADMOP } from '../../model/testing/tiny-config.ts';
import type { PreparedTrial } from '../prepare.ts';
import type { PretrainOptions } from '../pretrain.ts';

// One level only: every trainable leaf costs optimiser kernels, and compiling the training step dominates.
export const SYNTHETIC_CONFIG: CladmopConfig = { ...TINY_CLADMOP, levels: [2] };

/**
 * Label 1 for every third trial. Deterministic in (n, seed, prefix). `learnable`: the label is written into the
 * first criteria feature and the first drug's n-gram (3 or 5), so a classifier can learn it (fine-tuning tests).
 */
export function syntheticTrials(n: number, seed: number, prefix: string, o: { learnable?: boolean } = {}): PreparedTrial[] {
  const C = SYNTHETIC_CONFIG;
  const rng = createRng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo));
  return Array.from({ length: n }, (_, k) => {
    const nInc = int(1, 9);
    const nExc = int(2, 6);
    const T = nInc + nExc;
    const label = k % 3 === 0 ? 1 : 0;
    const signal = o.learnable ? label : 0;
    const criteria: EncodedCriteria = {
      levels: [0, 1, 2].map(() => Float32Array.from({ length: T * C.dEncoder }, (_, i) => 2 * rng() - 1 + (i % C.dEncoder === 0 ? signal : 0))),
      tokens: Array.from({ length: T }, () => int(1, 100)),
      segments: Uint8Array.from({ length: T }, (_, t) => (t < nInc ? 0 : 1)),
      dim: C.dEncoder,
    };
    const nMol = int(0, 3);
    const molecules = new Float32Array(nMol * MOLECULE_INPUT);
    for (let i = 0; i < molecules.length; i++) molecules[i] = i % MOLECULE_INPUT < 2048 ? (rng() < 0.05 ? 1 : 0) : rng();
    const ids = (count: number, max: number) => Array.from({ length: count }, () => Array.from({ length: int(1, 5) }, () => int(1, max)));
    const dm: DmFeatures = {
      molecules,
      nMolecules: nMol,
      drugNgrams: o.learnable ? [[label ? 3 : 5, int(6, C.nameBuckets)], ...ids(int(0, 2), C.nameBuckets)] : ids(int(1, 3), C.nameBuckets),
      diseaseAncestors: ids(int(0, 3), C.icdVocab),
      report: { invalidSmiles: [], placeboDropped: 0, unknownIcdCodes: [], truncated: [] },
    };
    return { nctid: `${prefix}${String(k).padStart(4, '0')}`, label, input: { criteria, dm } };
  });
}

export function syntheticPretrainOptions(over: Partial<PretrainOptions> = {}): PretrainOptions {
  return {
    config: SYNTHETIC_CONFIG,
    seed: 5,
    // 20 trials in batches of 8: two steps per epoch (4 trials left out, a different 4 each epoch).
    batchSize: 8,
    epochs: 2,
    lr: 5e-3,
    warmupSteps: 2,
    weightDecay: 0.01,
    clipNorm: 1,
    maxCriteria: 16,
    checkpoint: null,
    resume: true,
    ...over,
  };
}
