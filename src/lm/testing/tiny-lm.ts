/**
 * A tiny criteria LM for tests: random weights (seeded), a tokenizer trained on 40 real phase I criteria,
 * written exactly as train-lm's writeModelDir lays a model directory out (the fields loadCriteriaLm reads).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tree } from '@jax-js/jax';
import { loadSplit, resolveDataDir } from '../../data/splits.ts';
import { writeSafetensors } from '../../runtime/safetensors.ts';
import { initJax } from '../../runtime/jax-init.ts';
import { criteriaDocuments } from '../criteria-text.ts';
import { countParameters, initParams, paramsToFlat, type LmConfig } from '../model.ts';
import { arraysToTensors } from '../params-io.ts';
import { trainTokenizer } from '../tokenizer.ts';
import { sha256Hex as sha256 } from '../../runtime/hash.ts';

// maxLen 160: sections fall in different length buckets (64, 128, 160), and long ones are truncated.
export const TINY_LM_CONFIG: LmConfig = { vocabSize: 300, dModel: 16, nLayers: 3, nHeads: 2, dFf: 32, maxLen: 160, dropout: 0 };

export function tinyLmCriteria(): string[] {
  return loadSplit('I', 'train', resolveDataDir()).rows.slice(0, 40).map((r) => r.trial.criteria);
}

export async function writeTinyLm(dir: string, seed: number): Promise<void> {
  await initJax();
  mkdirSync(dir, { recursive: true });
  const docs = tinyLmCriteria().flatMap((c) => criteriaDocuments(c).map((d) => d.text));
  const tokJson = trainTokenizer(docs, { vocabSize: TINY_LM_CONFIG.vocabSize });
  writeFileSync(path.join(dir, 'tokenizer.json'), tokJson);
  const params = initParams(TINY_LM_CONFIG, seed);
  writeSafetensors(path.join(dir, 'model.safetensors'), await arraysToTensors(paramsToFlat(params)), { format: 'cladmop-criteria-lm-v1' });
  tree.dispose(params);
  const config = {
    format: 'cladmop-criteria-lm',
    formatVersion: 1,
    architecture: 'causal pre-LN transformer, learned positions, tied embeddings, GELU',
    model: TINY_LM_CONFIG,
    parameters: countParameters(TINY_LM_CONFIG),
    tokenizer: { file: 'tokenizer.json', sha256: sha256(tokJson), type: 'byte-level BPE', lowercase: true },
    weights: { file: 'model.safetensors', sha256: sha256(readFileSync(path.join(dir, 'model.safetensors'))), dtype: 'F32' },
  };
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
}
