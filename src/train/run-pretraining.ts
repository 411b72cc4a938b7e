/**
 * Pre-training as a unit: which trials (the SCT-like corpus, or a small deterministic sample of it in quick
 * mode), their features, the pre-training run itself, and the cached result file. Used by `cladmop pretrain`
 * and by `cladmop reproduce` (which runs it in a child process, see runtime/child.ts).
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { PACKAGE_ROOT as REPO_ROOT, resolveDataDir } from '../settings.ts';
import type { LabelledTrial } from '../data/trial.ts';
import { loadDrugTable } from '../data/drug-table.ts';
import type { CriteriaEncoder } from '../features/criteria-encoder.ts';
import { EmbeddingCache } from '../features/embedding-cache.ts';
import { defaultCacheDir } from '../features/encoder-spec.ts';
import { IcdVocabulary, MOLECULE_INPUT } from '../features/dm-features.ts';
import { MoleculeFeaturizer } from '../features/molecule.ts';
import { DEFAULT_CLADMOP, MODEL_CODE_VERSION, type CladmopConfig } from '../model/cladmop.ts';
import { writeSafetensors } from '../runtime/safetensors.ts';
import { treeToTensors } from '../runtime/param-tree.ts';
import { createRng } from '../eval/rng.ts';
import { buildSctCorpus, type SctCorpus } from './sct-corpus.ts';
import type { FeatureContext } from './prepare.ts';
import { prepareTrials } from './prepare.ts';
import { DEFAULT_PRETRAIN, pretrain, type PretrainOptions } from './pretrain.ts';
import { MAIN_VARIANT, type Variant } from './variants.ts';
import { tree } from '@jax-js/jax';
import { initJax } from '../runtime/jax-init.ts';

export interface PretrainingPlan {
  sct: SctCorpus;
  trials: LabelledTrial[];
  heldOut: LabelledTrial[];
  options: Omit<PretrainOptions, 'log' | 'onStep' | 'checkpoint'>;
  /** Hash of everything that determines the result. */
  key: string;
  dir: string;
  file: string;
}

/** Deterministic sample of at most n rows, in their original order. */
export function subsample<T>(rows: T[], n: number, seed: number): T[] {
  if (rows.length <= n) return rows;
  const rng = createRng(seed);
  const idx = rows.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, n).sort((a, b) => a - b).map((i) => rows[i]);
}

export function cladmopConfigFor(encoder: CriteriaEncoder, icd: IcdVocabulary): CladmopConfig {
  return { ...DEFAULT_CLADMOP, dEncoder: encoder.dim, icdVocab: icd.size, moleculeInput: MOLECULE_INPUT };
}

export function featureContext(encoder: CriteriaEncoder, dataDir: string, moleculeSource: 'top' | 'names', featurizer: MoleculeFeaturizer): FeatureContext {
  const drugTable = moleculeSource === 'names' ? loadDrugTable(dataDir) : null;
  return {
    encoder,
    cache: new EmbeddingCache(defaultCacheDir(), encoder.id),
    featurizer,
    icd: IcdVocabulary.fromDataDir(dataDir),
    dm: { moleculeSource, nameBuckets: DEFAULT_CLADMOP.nameBuckets, lookupSmiles: drugTable ? (n) => drugTable.lookup(n)?.smiles : undefined },
  };
}

export function planPretraining(o: {
  encoder: CriteriaEncoder;
  dataDir?: string;
  quick: boolean;
  epochs: number;
  moleculeSource: 'top' | 'names';
  variant?: Variant;
}): PretrainingPlan {
  const dataDir = resolveDataDir(o.dataDir);
  const variant = o.variant ?? MAIN_VARIANT;
  const sct = buildSctCorpus(dataDir, { successfulOnly: variant.successfulOnly });
  const trials = o.quick ? subsample(sct.trials, 64, 1) : sct.trials;
  const heldOut = o.quick ? subsample(sct.heldOut, 32, 2) : sct.heldOut;
  const icd = IcdVocabulary.fromDataDir(dataDir);
  const options = { ...DEFAULT_PRETRAIN, config: { ...cladmopConfigFor(o.encoder, icd), ...variant.config }, epochs: o.quick ? 1 : o.epochs };
  const key = createHash('sha256')
    .update(JSON.stringify({ code: MODEL_CODE_VERSION, encoder: o.encoder.id, options, ids: trials.map((t) => t.trial.nctid), held: heldOut.map((t) => t.trial.nctid), moleculeSource: o.moleculeSource }))
    .digest('hex');
  const dir = path.join(REPO_ROOT, '.cache/pretrain', key.slice(0, 16));
  return { sct, trials, heldOut, options, key, dir, file: path.join(dir, 'pretrained.safetensors') };
}

/** Runs pre-training for a plan (resuming its checkpoint) and writes the result file. */
export async function runPretraining(
  plan: PretrainingPlan,
  ctx: FeatureContext,
  log: (line: string) => void,
  progress?: (label: string, done: number, total: number) => void,
): Promise<void> {
  await initJax();
  if (existsSync(plan.file)) {
    log(`pre-trained weights already in ${plan.file}`);
    return;
  }
  mkdirSync(plan.dir, { recursive: true });
  // Pre-training is the largest process of a run: its states stay on disk (see PrepareOptions).
  const trials = await prepareTrials(plan.trials, ctx, (d, t) => progress?.('encode SCT-like corpus', d, t), { statesOnDisk: true });
  const held = await prepareTrials(plan.heldOut, ctx, (d, t) => progress?.('encode held-out', d, t), { statesOnDisk: true });
  const result = await pretrain(trials, held, {
    ...plan.options,
    checkpoint: path.join(plan.dir, 'checkpoint.safetensors'),
    log,
    onStep: (s, total) => progress?.('pre-train', s, total),
  });
  writeSafetensors(plan.file, await treeToTensors(result.params, 'params'), { history: JSON.stringify(result.history), key: plan.key });
  tree.dispose(result.params);
}

export { MoleculeFeaturizer };
