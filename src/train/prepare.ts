/**
 * Turns labelled trials into model inputs: criteria through the frozen encoder (and its cache), drugs,
 * molecules and diseases into DM features.
 */
import type { LabelledTrial } from '../data/trial.ts';
import { encodeWithCache, type CriteriaEncoder } from '../features/criteria-encoder.ts';
import { EmbeddingCache } from '../features/embedding-cache.ts';
import { dmFeatures, IcdVocabulary, type DmFeatureOptions } from '../features/dm-features.ts';
import { MoleculeFeaturizer } from '../features/molecule.ts';
import type { TrialInput } from '../features/trial-batch.ts';

export interface PreparedTrial {
  nctid: string;
  label: 0 | 1;
  input: TrialInput;
}

export interface FeatureContext {
  encoder: CriteriaEncoder;
  cache: EmbeddingCache | null;
  featurizer: MoleculeFeaturizer;
  icd: IcdVocabulary;
  dm: DmFeatureOptions;
}

export async function prepareTrials(
  rows: LabelledTrial[],
  ctx: FeatureContext,
  onProgress?: (done: number, total: number) => void,
): Promise<PreparedTrial[]> {
  const { encoded } = await encodeWithCache(
    ctx.encoder,
    ctx.cache,
    rows.map((r) => r.trial.criteria),
    onProgress,
  );
  return rows.map((r, i) => ({
    nctid: r.trial.nctid,
    label: r.label,
    input: { criteria: encoded[i], dm: dmFeatures(r.trial, ctx.featurizer, ctx.icd, ctx.dm) },
  }));
}
